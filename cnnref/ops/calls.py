"""An op's public functions as a caller sees them: the signature, the argument checks, then
a form's arithmetic.

Both forms of an op (literal.py, fast.py) write only their arithmetic, on checked
arguments, and take the call from here: its signature from ``signatures.py`` and its
checks from the op's ``geometry.py``.  So the two forms share how a call is read and
nothing of the maths, and each signature is written once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from .signatures import SIGNATURES

Result = TypeVar("Result")


def call_signature(function: str, options: dict[str, object]) -> inspect.Signature:
    """``function``'s signature: its arrays (``b`` defaults to None, meaning no bias), its
    geometry with the defaults of ``signatures.py``, then ``options``, keyword-only."""
    table = SIGNATURES[function.removesuffix("_backward")]
    arrays = table.backward_operands() if function.endswith("_backward") else table.operands
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [
        inspect.Parameter(name, positional, annotation="np.ndarray")
        if name != "b"
        else inspect.Parameter(name, positional, default=None, annotation="np.ndarray | None")
        for name in arrays
    ]
    for name, default in table.geometry:
        # An argument whose default is None is otherwise an int (divisor_override).
        kind = (
            "IntOrPair" if name in table.pairs else type(0 if default is None else default).__name__
        )
        if name in table.required:
            parameters.append(inspect.Parameter(name, positional, annotation=kind))
        else:
            annotation = f"{kind} | None" if default is None else kind
            parameters.append(
                inspect.Parameter(name, positional, default=default, annotation=annotation)
            )
    parameters += [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=type(default).__name__
        )
        for name, default in options.items()
    ]
    return inspect.Signature(parameters)


def public_function(
    function: str, check: Callable[..., tuple], **options: object
) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """A decorator: ``compute``, a form's arithmetic, called as ``function`` is.

    The call's arguments, by name (defaults and ``options`` filled in), go to ``check``,
    which raises on an invalid call and returns what ``compute`` takes.  The function
    returned has ``compute``'s name and docstring and ``function``'s signature.
    """
    signature = call_signature(function, options)

    def decorate(compute: Callable[..., Result]) -> Callable[..., Result]:
        def call(*args: Any, **kwargs: Any) -> Result:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError as error:  # named as Python names a call's mistakes
                raise TypeError(f"{function}() {error}") from None
            bound.apply_defaults()
            return compute(*check(**bound.arguments))

        returns = inspect.signature(compute).return_annotation
        call.__signature__ = signature.replace(return_annotation=returns)  # type: ignore[attr-defined]
        for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(call, attribute, getattr(compute, attribute))
        return call

    return decorate
