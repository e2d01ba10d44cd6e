"""The generic hook: any autograd library whose values have ``.backward()`` and ``.grad``.

mygrad, dezero, tinygrad and PyTorch all work the same way: wrap the input
arrays, run the forward, seed dL/dY with ``backward``, read each input's
``.grad``.  ``from_autograd`` turns those few callables into a
vector-Jacobian product and hands it to ``differentiable.from_vjp``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .arrays import as_array
from .candidate import Adapted
from .differentiable import from_vjp


def seed_backward(y: Any, dy: np.ndarray) -> None:
    """The usual way to backpropagate dL/dY from ``y``: ``y.backward(dy)``."""
    y.backward(dy)


def grad_of(leaf: Any) -> Any:
    """The usual place a library leaves a gradient: ``leaf.grad``."""
    return leaf.grad


def from_autograd(
    wrap: Callable[[np.ndarray], Any],
    *,
    backward: Callable[[Any, np.ndarray], None] = seed_backward,
    grad: Callable[[Any], Any] = grad_of,
    value: Callable[[Any], Any] = as_array,
    what: str = "an autograd library",
    unsupported: Iterable[str] = (),
    conventions: object = None,
    **forwards: Callable[..., Any] | None,
) -> Adapted:
    """A candidate from forwards that take the library's values, named by their op
    (``conv2d=``, ``max_pool2d=``, any of ``cnnref.ops.OPS``).

    ``wrap(array)`` makes an input the library differentiates with respect
    to; ``backward(y, dy)`` backpropagates dL/dY from the forward's output
    (default ``y.backward(dy)``); ``grad(leaf)`` is a wrapped input's
    gradient afterwards (default ``leaf.grad``); ``value`` turns the
    library's values into arrays (default ``as_array``).

    A library that copies the arrays it wraps would hide a forward that
    changes its inputs in place, so whatever such a call leaves in a wrapped
    input is written back to the caller's array, for the contract check to see.
    """

    def call(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> Any:
        leaves = [wrap(array) for array in arrays]
        try:
            return f(*leaves)
        finally:
            _write_back(arrays, leaves, value)

    def vjp(f: Callable[..., Any], arrays: Sequence[np.ndarray]) -> tuple[Any, Callable]:
        leaves = [wrap(array) for array in arrays]
        try:
            y = f(*leaves)
        except BaseException:
            _write_back(arrays, leaves, value)
            raise

        def pullback(dy: np.ndarray) -> list[Any]:
            try:
                backward(y, dy)
                return [grad(leaf) for leaf in leaves]
            finally:
                _write_back(arrays, leaves, value)

        return y, pullback

    return from_vjp(
        vjp,
        call=call,
        value=value,
        what=what,
        unsupported=unsupported,
        conventions=conventions,
        **forwards,
    )


def _write_back(arrays: Sequence[np.ndarray], leaves: Sequence[Any], value: Callable) -> None:
    """Copy a change the call made to a wrapped copy of an input back into the input."""
    for array, leaf in zip(arrays, leaves):
        try:
            after = value(leaf)
        except Exception:  # a value the library will not show: nothing to compare
            continue
        if (
            isinstance(after, np.ndarray)
            and after.shape == array.shape
            and after.dtype == array.dtype  # a library that converts on wrap has not mutated
            and not np.may_share_memory(after, array)  # the library works on the array itself
            and not np.array_equal(after, array, equal_nan=True)
        ):
            np.copyto(array, after)
