"""adaptive_max_pool2d and its gradient as whole-array passes: what
``cnnref.adaptive_max_pool2d`` runs.

The literal form (literal.py) looks at each window whole: its last NaN, else
its first maximum.  This form runs PyTorch CPU's scan instead, for all cells
at once: tap (i, j) of every window is one gather of x (adaptive_avg_pool2d's
fast form's window bounds and gather), and the taps are
visited in row-major order; an element takes over when it is strictly greater
than the best so far or is NaN.  The scan starts at each window's first
element, which is where PyTorch's ends when nothing takes over (a window of
-inf only).  A tap past a window's end never takes over.  The backward adds
each cell's dY at its selected index with one unbuffered indexed add, which
visits the cells in row-major order, as the literal form does.
"""

from __future__ import annotations

import numpy as np

from ..adaptive_avg_pool2d.fast import grid, window_bounds
from .geometry import AdaptiveGeometry, adaptive_max_pool2d_backward_call, adaptive_max_pool2d_call


@adaptive_max_pool2d_call
def adaptive_max_pool2d(
    geometry: AdaptiveGeometry, x: np.ndarray, return_indices: bool
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """2-D adaptive max pooling as PyTorch CPU defines it, NCHW; with ``return_indices``,
    also each maximum's index in its (H, W) plane (int64)."""
    y, indices = scan(x, geometry.output_shape(x.shape))
    return (y, indices) if return_indices else y


@adaptive_max_pool2d_backward_call
def adaptive_max_pool2d_backward(
    geometry: AdaptiveGeometry, dy: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """dL/dX for ``Y = adaptive_max_pool2d(x, output_size)`` given ``dy = dL/dY``: each cell's dY
    added at the element it selected."""
    dtype = np.result_type(dy, x)
    _, indices = scan(x, dy.shape)
    planes = np.arange(x.shape[0] * x.shape[1]).reshape(*x.shape[:2], 1, 1)
    dx = np.zeros(x.size, dtype=dtype)
    with np.errstate(invalid="ignore"):  # inf and -inf selected by one element make NaN there
        np.add.at(
            dx, (planes * x.shape[2] * x.shape[3] + indices).ravel(), dy.astype(dtype).ravel()
        )
    return dx.reshape(x.shape)


def scan(x: np.ndarray, out_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's maximum and its index ``u * W + v``, by PyTorch's scan over the taps."""
    height, width = x.shape[2:]
    if 0 in out_shape[2:]:
        return np.empty(out_shape, dtype=x.dtype), np.empty(out_shape, dtype=np.int64)
    (row_start, row_length), (col_start, col_length) = (
        window_bounds(out, size) for out, size in zip(out_shape[2:], (height, width))
    )
    best = grid(x, row_start, col_start)
    index = np.broadcast_to(row_start[:, None] * width + col_start[None, :], best.shape).copy()
    for i in range(row_length.max()):
        for j in range(col_length.max()):
            rows, cols = row_start + i, col_start + j
            inside = (i < row_length)[:, None] & (j < col_length)[None, :]
            tap = grid(x, np.minimum(rows, height - 1), np.minimum(cols, width - 1))
            with np.errstate(invalid="ignore"):
                takes_over = inside & ((tap > best) | np.isnan(tap))
            best = np.where(takes_over, tap, best)
            index = np.where(takes_over, rows[:, None] * width + cols[None, :], index)
    return best, index
