"""adaptive_max_pool2d and its gradient in the literal form: each output cell's window, and
the one element of it that the cell routes dL/dY to.

This is the oracle the fast form (fast.py) is checked against, so it shares
no code with it: numpy and the argument checks only.  Slow by design.

Cell (oy, ox) reads the rows ``window(oy, OH, H)`` and the columns
``window(ox, OW, W)`` of x (cell i of O over a side n: from floor(i * n / O)
to ceil((i + 1) * n / O), exclusive).  PyTorch CPU selects, in the window's
row-major order:

* the last NaN, if the window holds one (the maximum is NaN);
* else the first element equal to the window's maximum: a tie goes to the
  element read first, and a window of -inf only to its first element.

The maximum is the selected element itself (so its sign of zero), and its
index is ``u * W + v`` within the (H, W) plane, as ``return_indices`` gives it.
"""

from __future__ import annotations

import numpy as np

from ..adaptive_avg_pool2d.literal import window
from .geometry import AdaptiveGeometry, adaptive_max_pool2d_backward_call, adaptive_max_pool2d_call


@adaptive_max_pool2d_call
def adaptive_max_pool2d(
    geometry: AdaptiveGeometry, x: np.ndarray, return_indices: bool
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """2-D adaptive max pooling as PyTorch CPU defines it, NCHW; with ``return_indices``,
    also each maximum's index in its (H, W) plane (int64)."""
    y, indices = selected(x, geometry.output_shape(x.shape))
    return (y, indices) if return_indices else y


@adaptive_max_pool2d_backward_call
def adaptive_max_pool2d_backward(
    geometry: AdaptiveGeometry, dy: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """dL/dX for ``Y = adaptive_max_pool2d(x, output_size)`` given ``dy = dL/dY``: each cell adds
    its dY to the element it selected; where overlapping windows select one element, the
    contributions add up, cell by cell in row-major order."""
    dx = np.zeros(x.shape, dtype=np.result_type(dy, x))
    width = x.shape[3]
    _, indices = selected(x, dy.shape)
    with np.errstate(invalid="ignore"):  # inf and -inf selected by one element make NaN there
        for n, c, oy, ox in np.ndindex(*dy.shape):
            u, v = divmod(int(indices[n, c, oy, ox]), width)
            dx[n, c, u, v] += dy[n, c, oy, ox]
    return dx


def selected(x: np.ndarray, out_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(N, C, OH, OW) each: the element each cell selects, and its index ``u * W + v``."""
    width = x.shape[3]
    y = np.empty(out_shape, dtype=x.dtype)
    indices = np.empty(out_shape, dtype=np.int64)
    for n, c, oy, ox in np.ndindex(*out_shape):
        positions = [
            (u, v)
            for u in window(oy, out_shape[2], x.shape[2])
            for v in window(ox, out_shape[3], x.shape[3])
        ]
        values = [x[n, c, u, v] for u, v in positions]
        nans = [k for k, value in enumerate(values) if np.isnan(value)]
        if nans:
            chosen = nans[-1]
        else:
            largest = max(values)
            chosen = next(k for k, value in enumerate(values) if value == largest)
        u, v = positions[chosen]
        y[n, c, oy, ox], indices[n, c, oy, ox] = x[n, c, u, v], u * width + v
    return y, indices
