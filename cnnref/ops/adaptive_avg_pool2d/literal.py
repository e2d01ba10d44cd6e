"""adaptive_avg_pool2d and its gradient in the literal form: cell by cell, element by element,
as docs/derivation.md reads.

This is the oracle the fast form (fast.py) is checked against, so it shares
no code with it: numpy and the argument checks only.  Slow by design.

Output cell (oy, ox) of an (OH, OW) output over an (H, W) input averages the
rows ``window(oy, OH, H)`` and the columns ``window(ox, OW, W)`` of x, where
cell i of O over a side n starts at ``floor(i * n / O)`` and ends (exclusive)
at ``ceil((i + 1) * n / O)``: every cell reads at least one element, and
neighbouring windows share an element wherever ``i * n / O`` is not whole.
The sum runs in row-major order from +0 and is divided by the window's
height, then by its width, as PyTorch CPU's loop does.
"""

from __future__ import annotations

import numpy as np

from .geometry import AdaptiveGeometry, adaptive_avg_pool2d_backward_call, adaptive_avg_pool2d_call


@adaptive_avg_pool2d_call
def adaptive_avg_pool2d(geometry: AdaptiveGeometry, x: np.ndarray) -> np.ndarray:
    """2-D adaptive average pooling as PyTorch CPU defines it, NCHW."""
    out_shape = geometry.output_shape(x.shape)
    y = np.empty(out_shape, dtype=x.dtype)
    for oy, ox in np.ndindex(*out_shape[2:]):
        rows, cols = window(oy, out_shape[2], x.shape[2]), window(ox, out_shape[3], x.shape[3])
        total = np.zeros(x.shape[:2], dtype=x.dtype)
        with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN propagate, silently
            for u in rows:
                for v in cols:
                    total = total + x[:, :, u, v]
            y[:, :, oy, ox] = total / x.dtype.type(len(rows)) / x.dtype.type(len(cols))
    return y


@adaptive_avg_pool2d_backward_call
def adaptive_avg_pool2d_backward(
    geometry: AdaptiveGeometry, dy: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """dL/dX for ``Y = adaptive_avg_pool2d(x, output_size)`` given ``dy = dL/dY``.

    Y[oy, ox] is the sum of its window's elements divided by the window's height
    and width, so dY[oy, ox] / height / width goes to each of them; where
    windows overlap, the contributions add up, cell by cell in row-major order.
    """
    dtype = np.result_type(dy, x)
    dx = np.zeros(x.shape, dtype=dtype)
    for oy, ox in np.ndindex(*dy.shape[2:]):
        rows, cols = window(oy, dy.shape[2], x.shape[2]), window(ox, dy.shape[3], x.shape[3])
        with np.errstate(over="ignore", invalid="ignore"):
            share = dy[:, :, oy, ox].astype(dtype) / dtype.type(len(rows)) / dtype.type(len(cols))
            for u in rows:
                for v in cols:
                    dx[:, :, u, v] += share
    return dx


def window(index: int, out_size: int, in_size: int) -> range:
    """The positions cell ``index`` of ``out_size`` cells over ``in_size`` reads:
    from floor(index * in_size / out_size) to ceil((index + 1) * in_size / out_size)."""
    start = (index * in_size) // out_size
    end = -(-((index + 1) * in_size) // out_size)
    return range(start, end)
