"""cnnref's functions from differentiable forwards and a vector-Jacobian product.

The user's forwards take the library's own values, with cnnref's signatures
(``cnnref.ops.signatures``): ``conv2d(x, w, b, stride=, padding=, dilation=,
groups=)``, ``max_pool2d(x, kernel_size, stride=, padding=, dilation=,
ceil_mode=)``, ``conv_transpose2d(x, w, b, stride=, padding=,
output_padding=, groups=, dilation=)`` and ``avg_pool2d(x, kernel_size,
stride=, padding=, ceil_mode=, count_include_pad=, divisor_override=)``;
every argument is passed, an omitted one at cnnref's default.  Geometry
arrives in one form, ``geometry=``:

* ``"pairs"`` (the default): kernel_size, stride, padding, dilation and
  output_padding as (h, w) tuples of ints, whatever the caller wrote (a pool's
  ``stride`` may be None; ``groups``, ``ceil_mode`` and the rest as they are);
* ``"ints"``: the same as plain ints, for a library that takes one number per
  argument; a non-square value raises (declare ``non_square_geometry``);
* ``"as_given"``: as cnnref's caller wrote them, an int or a pair.

The backwards are what the library's autodiff makes of the forwards:
``vjp(f, arrays)`` returns ``f``'s output and a pullback from dL/dY to one
gradient per array.  Every result goes through ``value`` (``as_array``
unless the library needs another way), in this process.  A gradient that
shares memory with an array the adapter was given (autograd may hand dy's
own buffer back as db) is copied: the contract judges the user's code, not
the library's buffers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..ops import OPS
from ..ops.signatures import SIGNATURES, Signature
from .arrays import as_array
from .candidate import Adapted

Pullback = Callable[[np.ndarray], Sequence[Any]]
Vjp = Callable[[Callable[..., Any], Sequence[np.ndarray]], tuple[Any, Pullback]]
Call = Callable[[Callable[..., Any], Sequence[np.ndarray]], Any]

GEOMETRY_FORMS = ("pairs", "ints", "as_given")


def from_vjp(
    vjp: Vjp,
    *,
    call: Call | None = None,
    value: Callable[[Any], Any] = as_array,
    geometry: str = "pairs",
    what: str = "a differentiable forward",
    unsupported: Iterable[str] = (),
    conventions: object = None,
    **forwards: Callable[..., Any] | None,
) -> Adapted:
    """A candidate whose backwards are ``vjp``'s pullbacks of the given forwards.

    ``forwards``: one keyword per op of ``cnnref.ops.OPS`` (``conv2d=``,
    ``max_pool2d=``, ``conv_transpose2d=``, ``avg_pool2d=``).
    ``call(f, arrays)`` runs a forward alone (default: ``vjp``'s output);
    ``value`` turns the library's results into arrays; ``geometry`` is the
    form the forwards get their geometry in (module docstring).
    """
    check_forwards(forwards, what)
    check_geometry_form(geometry)
    run = call or (lambda f, arrays: vjp(f, arrays)[0])
    functions: dict[str, Callable[..., Any]] = {}
    for op, forward in forwards.items():
        if forward is not None:
            functions |= _functions(op, forward, vjp, run, value, geometry, what)
    return Adapted(what=what, unsupported=unsupported, conventions=conventions, **functions)


def check_forwards(forwards: dict, what: str) -> None:
    unknown = sorted(set(forwards) - set(OPS))
    if unknown:
        raise TypeError(f"{what}: no op is called {unknown}; ops: {', '.join(OPS)}")


def check_geometry_form(form: str) -> None:
    if form not in GEOMETRY_FORMS:
        raise ValueError(f"geometry must be one of {list(GEOMETRY_FORMS)}; got {form!r}")


def normalised(signature: Signature, geometry: dict, form: str, what: str) -> dict:
    """``geometry`` with its int-or-pair arguments in ``form`` (module docstring)."""
    if form == "as_given":
        return geometry
    result = dict(geometry)
    for name in signature.pairs:
        value = geometry[name]
        if value is None:
            continue
        pair = (int(value), int(value)) if _is_int(value) else tuple(int(v) for v in value)
        if form == "pairs":
            result[name] = pair
        elif pair[0] != pair[1]:
            raise ValueError(
                f"{what} takes one int per argument (geometry='ints'), but {name}={value!r} "
                "differs between height and width: declare 'non_square_geometry' unsupported"
            )
        else:
            result[name] = pair[0]
    return result


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _parameters(names: Sequence[str], geometry: Sequence[tuple[str, object]]) -> inspect.Signature:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    empty = inspect.Parameter.empty
    arrays = [inspect.Parameter(n, kind, default=None if n == "b" else empty) for n in names]
    rest = [
        inspect.Parameter(n, kind, default=empty if n == "kernel_size" else default)
        for n, default in geometry
    ]
    return inspect.Signature([*arrays, *rest])


def fresh(result: Any, given: Sequence[Any]) -> Any:
    """``result``, copied if it shares memory with one of the arrays ``given`` to the adapter."""
    if isinstance(result, np.ndarray) and any(
        isinstance(a, np.ndarray) and np.may_share_memory(result, a) for a in given
    ):
        return result.copy()
    return result


def _functions(
    op: str, forward: Callable, vjp: Vjp, run: Call, value: Callable, form: str, what: str
) -> dict[str, Callable[..., Any]]:
    """``op`` and ``op_backward`` over ``forward``, with cnnref's signatures."""
    signature = SIGNATURES[op]
    forward_parameters = _parameters(signature.operands, signature.geometry)
    backward_parameters = _parameters(signature.backward_operands(), signature.geometry)
    names = [name for name, _ in signature.geometry]

    def prepare(parameters: inspect.Signature, args: tuple, kwargs: dict):
        bound = parameters.bind(*args, **kwargs)
        bound.apply_defaults()
        given = bound.arguments
        present = [n for n in signature.operands if given[n] is not None]
        geometry = normalised(signature, {n: given[n] for n in names}, form, what)

        def f(*leaves: Any) -> Any:  # an operand left out (b=None) is not differentiated
            operands = dict(zip(present, leaves))
            return forward(*(operands.get(n) for n in signature.operands), **geometry)

        return given, present, f

    def forward_function(*args: Any, **kwargs: Any) -> Any:
        given, present, f = prepare(forward_parameters, args, kwargs)
        return value(run(f, [given[n] for n in present]))

    def backward_function(*args: Any, **kwargs: Any) -> Any:
        given, present, f = prepare(backward_parameters, args, kwargs)
        arrays = [given[n] for n in present]
        _, pullback = vjp(f, arrays)
        gradients = dict(zip(present, (value(g) for g in pullback(given["dy"]))))
        inputs = [given["dy"], *arrays]
        results = tuple(fresh(gradients.get(n), inputs) for n in signature.operands)
        return results if len(results) > 1 else results[0]

    forward_function.__signature__ = forward_parameters  # type: ignore[attr-defined]
    backward_function.__signature__ = backward_parameters  # type: ignore[attr-defined]
    forward_function.__name__ = op
    backward_function.__name__ = f"{op}_backward"
    return {op: forward_function, f"{op}_backward": backward_function}
