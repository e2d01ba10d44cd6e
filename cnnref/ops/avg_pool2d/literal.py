"""avg_pool2d and its gradient in the literal form: window by window, element by element,
as docs/derivation.md reads.

This is the oracle the fast form (fast.py) is checked against, so it shares
no code with it: numpy and the argument checks only.  Slow by design.

Window (oy, ox) covers the rows ``oy*s_h - p_h + i`` (i < k_h) and the
columns ``ox*s_w - p_w + j`` (j < k_w) of x; its sum runs over those inside
x, in row-major order, and is divided by the window's divisor:

* ``divisor_override`` when given;
* else, with ``count_include_pad``, the number of its positions inside the
  padded input (ceil_mode's last window may hang past the padding: those
  positions do not count);
* else the number of its positions inside x.
"""

from __future__ import annotations

import numpy as np

from .geometry import AvgPoolGeometry, avg_pool2d_backward_call, avg_pool2d_call


@avg_pool2d_call
def avg_pool2d(geometry: AvgPoolGeometry, x: np.ndarray) -> np.ndarray:
    """``cnnref.avg_pool2d`` in the literal form: each window's sum, element by element."""
    out_shape = geometry.output_shape(x.shape)
    y = np.empty(out_shape, dtype=x.dtype)
    for oy, ox in np.ndindex(*out_shape[2:]):
        inside, divisor = window(geometry, x.shape[2:], oy, ox)
        total = np.zeros(x.shape[:2], dtype=x.dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN propagate, silently
            for u, v in inside:  # row-major, as PyTorch sums
                total = total + x[:, :, u, v]
            y[:, :, oy, ox] = total / x.dtype.type(divisor)
    return y


@avg_pool2d_backward_call
def avg_pool2d_backward(geometry: AvgPoolGeometry, dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dL/dX for ``Y = avg_pool2d(x, ...)`` given ``dy = dL/dY``.

    Y[oy, ox] is sum(x[u, v] over the window's elements inside x) / divisor,
    so dY[oy, ox] / divisor goes to each of those elements; where windows
    overlap, the contributions add up.  Padding receives nothing.
    """
    dx = np.zeros(x.shape, dtype=dy.dtype)
    for oy, ox in np.ndindex(*dy.shape[2:]):
        inside, divisor = window(geometry, x.shape[2:], oy, ox)
        with np.errstate(over="ignore", invalid="ignore"):
            share = dy[:, :, oy, ox] / dy.dtype.type(divisor)
            for u, v in inside:
                dx[:, :, u, v] += share
    return dx


def window(
    geometry: AvgPoolGeometry, size: tuple[int, int], oy: int, ox: int
) -> tuple[list[tuple[int, int]], int]:
    """The positions (u, v) of x that window (oy, ox) reads, in row-major order, and its divisor."""
    (kh, kw), (sh, sw), (ph, pw) = geometry.kernel_size, geometry.stride, geometry.padding
    height, width = size
    positions = [(oy * sh - ph + i, ox * sw - pw + j) for i in range(kh) for j in range(kw)]
    inside = [(u, v) for u, v in positions if 0 <= u < height and 0 <= v < width]
    inside_padded = [
        (u, v) for u, v in positions if -ph <= u < height + ph and -pw <= v < width + pw
    ]
    if geometry.divisor_override is not None:
        return inside, geometry.divisor_override
    return inside, len(inside_padded) if geometry.count_include_pad else len(inside)
