"""cnnref's four functions from a differentiable forward and a vector-Jacobian product.

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

from .arrays import as_array
from .candidate import Adapted

Pullback = Callable[[np.ndarray], Sequence[Any]]
Vjp = Callable[[Callable[..., Any], Sequence[np.ndarray]], tuple[Any, Pullback]]
Call = Callable[[Callable[..., Any], Sequence[np.ndarray]], Any]


def from_vjp(
    vjp: Vjp,
    *,
    conv2d: Callable[..., Any] | None = None,
    max_pool2d: Callable[..., Any] | None = None,
    call: Call | None = None,
    value: Callable[[Any], Any] = as_array,
    what: str = "a differentiable forward",
    unsupported: Iterable[str] = (),
    conventions: object = None,
) -> Adapted:
    """A candidate whose backwards are ``vjp``'s pullbacks of the given forwards.

    ``call(f, arrays)`` runs a forward alone (default: ``vjp``'s output);
    ``value`` turns the library's results into arrays.
    """
    forward = call or (lambda f, arrays: vjp(f, arrays)[0])
    functions: dict[str, Callable[..., Any]] = {}
    if conv2d is not None:
        functions |= _conv(conv2d, vjp, forward, value)
    if max_pool2d is not None:
        functions |= _pool(max_pool2d, vjp, forward, value)
    return Adapted(what=what, unsupported=unsupported, conventions=conventions, **functions)


def _conv(conv: Callable[..., Any], vjp: Vjp, forward: Call, value: Callable) -> dict:
    def of_inputs(geometry: dict) -> Callable[..., Any]:
        def f(x: Any, w: Any, *b: Any) -> Any:  # b is left out of the arrays when it is None
            return conv(x, w, b[0] if b else None, **geometry)

        return f

    def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        return value(forward(of_inputs(geometry), _present(x, w, b)))

    def conv2d_backward(dy, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        geometry = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        _, pullback = vjp(of_inputs(geometry), _present(x, w, b))
        dx, dw, *db = (value(g) for g in pullback(dy))
        return dx, dw, (db[0] if b is not None else None)

    return {"conv2d": conv2d, "conv2d_backward": conv2d_backward}


def _pool(pool: Callable[..., Any], vjp: Vjp, forward: Call, value: Callable) -> dict:
    def of_input(geometry: dict) -> Callable[[Any], Any]:
        return lambda x: pool(x, **geometry)

    def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = dict(
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
        )
        return value(forward(of_input(geometry), (x,)))

    def max_pool2d_backward(
        dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
    ):
        geometry = dict(
            kernel_size=kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            ceil_mode=ceil_mode,
        )
        _, pullback = vjp(of_input(geometry), (x,))
        (dx,) = pullback(dy)
        return value(dx)

    return {"max_pool2d": max_pool2d, "max_pool2d_backward": max_pool2d_backward}


def _present(*arrays: np.ndarray | None) -> tuple[np.ndarray, ...]:
    return tuple(a for a in arrays if a is not None)
