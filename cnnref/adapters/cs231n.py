"""CS231n-style layer pairs: a forward that returns ``(out, cache)`` and a backward of the cache.

    conv_forward(x, w, b, conv_param) -> (out, cache)   conv_param = {"stride": s, "pad": p}
    conv_backward(dout, cache) -> (dx, dw, db)
    max_pool_forward(x, pool_param) -> (out, cache)
        pool_param = {"pool_height": kh, "pool_width": kw, "stride": s}
    max_pool_backward(dout, cache) -> dx

Such a pair has one stride and one padding for both axes, no dilation, no
groups, no pool padding and no ceil_mode: the adapters declare those
unsupported (so they are never drawn) and raise if asked for them anyway.
The pair's ``b`` is required: where cnnref passes ``b=None`` the forward
gets zeros (``out + 0`` is exact, and the examples that do have a bias still
check it, ``conv2d.bias_linearity`` among them), and ``db`` is not asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .arrays import as_array
from .candidate import Adapted

# What the pairs cannot express: one stride and one padding for both axes ("non_square_geometry";
# non-square inputs stay drawn), no dilation, groups, pool padding or ceil_mode.
CONV_UNSUPPORTED = frozenset({"dilation", "groups", "non_square_geometry"})
POOL_UNSUPPORTED = frozenset({"pool_padding", "dilation", "ceil_mode", "non_square_geometry"})


def cs231n_conv(
    conv_forward: Callable[..., Any],
    conv_backward: Callable[..., Any],
    *,
    unsupported: Iterable[str] = (),
    conventions: object = None,
) -> Adapted:
    """cnnref's conv2d and conv2d_backward from a CS231n pair."""

    def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        param = _conv_param(stride, padding, dilation, groups)
        out, _ = _forward("conv_forward", conv_forward(x, w, _bias(b, x, w), param))
        return as_array(out)

    def conv2d_backward(dy, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
        param = _conv_param(stride, padding, dilation, groups)
        _, cache = _forward("conv_forward", conv_forward(x, w, _bias(b, x, w), param))
        grads = conv_backward(dy, cache)
        if not (isinstance(grads, (tuple, list)) and len(grads) == 3):
            return grads  # for the contract check to say what came back
        dx, dw, db = grads
        return as_array(dx), as_array(dw), (as_array(db) if b is not None else None)

    return Adapted(
        what="a CS231n conv pair",
        conv2d=conv2d,
        conv2d_backward=conv2d_backward,
        unsupported=CONV_UNSUPPORTED | set(unsupported),
        conventions=conventions,
    )


def cs231n_pool(
    max_pool_forward: Callable[..., Any],
    max_pool_backward: Callable[..., Any],
    *,
    unsupported: Iterable[str] = (),
    conventions: object = None,
) -> Adapted:
    """cnnref's max_pool2d and max_pool2d_backward from a CS231n pair."""

    def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        param = _pool_param(kernel_size, stride, padding, dilation, ceil_mode)
        out, _ = _forward("max_pool_forward", max_pool_forward(x, param))
        return as_array(out)

    def max_pool2d_backward(
        dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
    ):
        param = _pool_param(kernel_size, stride, padding, dilation, ceil_mode)
        _, cache = _forward("max_pool_forward", max_pool_forward(x, param))
        return as_array(max_pool_backward(dy, cache))

    return Adapted(
        what="a CS231n max-pool pair",
        max_pool2d=max_pool2d,
        max_pool2d_backward=max_pool2d_backward,
        unsupported=POOL_UNSUPPORTED | set(unsupported),
        conventions=conventions,
    )


def _forward(name: str, returned: Any) -> tuple[Any, Any]:
    if not (isinstance(returned, tuple) and len(returned) == 2):
        raise TypeError(f"{name} returned {type(returned).__name__}; expected (out, cache)")
    return returned


def _bias(b: np.ndarray | None, x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return np.zeros(w.shape[0], np.result_type(x, w)) if b is None else b


def _conv_param(stride, padding, dilation, groups) -> dict:
    if _pair(dilation) != (1, 1) or groups != 1:
        raise ValueError(
            f"a CS231n conv pair has no dilation or groups; got dilation={dilation}, groups={groups}"
        )
    return {"stride": _one("stride", stride), "pad": _one("padding", padding)}


def _pool_param(kernel_size, stride, padding, dilation, ceil_mode) -> dict:
    if _pair(padding) != (0, 0) or _pair(dilation) != (1, 1) or ceil_mode:
        raise ValueError(
            "a CS231n pool pair has no padding, dilation or ceil_mode; got "
            f"padding={padding}, dilation={dilation}, ceil_mode={ceil_mode}"
        )
    height, width = _pair(kernel_size)
    step = _one("stride", kernel_size if stride is None else stride)
    return {"pool_height": height, "pool_width": width, "stride": step}


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    height, width = value
    return (height, width)


def _one(name: str, value: int | tuple[int, int]) -> int:
    """The single number a CS231n parameter has for both axes."""
    first, second = _pair(value)
    if first != second:
        raise ValueError(f"a CS231n pair has one {name} for both axes; got {value}")
    return int(first)
