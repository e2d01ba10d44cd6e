"""cnnref's functions from differentiable forwards and a vector-Jacobian product.

The user's forwards take the library's own values, with cnnref's signatures:
``conv2d(x, w, b, stride=, padding=, dilation=, groups=)`` and
``max_pool2d(x, kernel_size, stride=, padding=, dilation=, ceil_mode=)``.
The backwards are what the library's autodiff makes of them: ``vjp(f,
arrays)`` returns ``f``'s output and a pullback from dL/dY to one gradient
per array.  JAX's ``jax.vjp`` is one; ``autograd.from_autograd`` builds one
from ``.backward()`` and ``.grad``.  Every output goes through ``value``
(``as_array`` unless the library needs another way), in this process, so the
contract checks judge what the library returned.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from ..ops import OPS, op_operands
from .arrays import as_array
from .candidate import Adapted

Pullback = Callable[[np.ndarray], Sequence[Any]]
Vjp = Callable[[Callable[..., Any], Sequence[np.ndarray]], tuple[Any, Pullback]]
Call = Callable[[Callable[..., Any], Sequence[np.ndarray]], Any]


def from_vjp(
    vjp: Vjp,
    *,
    call: Call | None = None,
    value: Callable[[Any], Any] = as_array,
    what: str = "a differentiable forward",
    unsupported: Iterable[str] = (),
    conventions: object = None,
    **forwards: Callable[..., Any] | None,
) -> Adapted:
    """A candidate whose backwards are ``vjp``'s pullbacks of the given forwards.

    ``forwards`` are named by their op (``conv2d=``, ``max_pool2d=``, any of
    ``cnnref.ops.OPS``); None stands for an op not given.  ``call(f, arrays)``
    runs a forward alone (default: ``vjp``'s output); ``value`` turns the
    library's results into arrays.
    """
    forward = call or (lambda f, arrays: vjp(f, arrays)[0])
    unknown = sorted(set(forwards) - set(OPS))
    if unknown:
        raise TypeError(f"{what}: {', '.join(unknown)} is no op of cnnref; known: {', '.join(OPS)}")
    functions: dict[str, Callable[..., Any]] = {}
    for op, f in forwards.items():
        if f is not None:
            functions |= _adapt(op, f, vjp, forward, value)
    return Adapted(what=what, unsupported=unsupported, conventions=conventions, **functions)


def _adapt(op: str, f: Callable[..., Any], vjp: Vjp, forward: Call, value: Callable) -> dict:
    """``op`` and ``op_backward`` from the forward ``f``, which has cnnref's signature.

    The op's arrays come first (``cnnref.ops.op_operands``); an array left out or None (no
    bias) is passed to ``f`` as None and is not differentiated; the other arguments go to
    ``f`` as they were given.
    """
    names = op_operands(op)

    def of_arrays(given: list, rest: tuple, geometry: dict) -> Callable[..., Any]:
        def f_of(*arrays: Any) -> Any:
            present = iter(arrays)
            operands = [None if a is None else next(present) for a in given]
            return f(*operands, *rest, **geometry)

        return f_of

    def split(args: tuple, geometry: dict) -> tuple[list, tuple]:
        """The op's arrays (given by position or by name), and the arguments after them."""
        given = list(args[: len(names)])
        given += [geometry.pop(name, None) for name in names[len(given) :]]
        return given, args[len(names) :]

    def adapted_forward(*args: Any, **geometry: Any) -> Any:
        given, rest = split(args, geometry)
        return value(forward(of_arrays(given, rest, geometry), _present(*given)))

    def adapted_backward(dy: Any, *args: Any, **geometry: Any) -> Any:
        given, rest = split(args, geometry)
        _, pullback = vjp(of_arrays(given, rest, geometry), _present(*given))
        gradients = iter(pullback(dy))
        result = tuple(None if a is None else value(next(gradients)) for a in given)
        return result if len(names) > 1 else result[0]

    adapted_forward.__name__, adapted_backward.__name__ = op, f"{op}_backward"
    return {op: adapted_forward, f"{op}_backward": adapted_backward}


def _present(*arrays: np.ndarray | None) -> tuple[np.ndarray, ...]:
    return tuple(a for a in arrays if a is not None)
