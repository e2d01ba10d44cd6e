"""adaptive_avg_pool2d and its gradient as whole-array passes: what
``cnnref.adaptive_avg_pool2d`` runs.

The literal form (literal.py) visits each output cell and each element of
its window.  This form departs from it by two identities:

* Sum by taps: a window's tap (i, j) reads row ``start[oy] + i`` and column
  ``start[ox] + j``; for all cells at once that is one gather of x.  Windows
  differ in size, so a tap past a window's end adds +0 there, which leaves a
  sum unchanged (NaN and inf included).  The taps run in row-major order from
  +0, so each window's sum is the literal form's, bit for bit, and so are
  the two divisions that follow.
* Cells by element: the cells that read an input element form a run along
  each axis (from the first cell whose window ends past it to the last that
  starts at or before it), so the backward gathers each run's dY shares in
  the literal form's cell order: the same additions, in the same order.
"""

from __future__ import annotations

import numpy as np

from .geometry import AdaptiveGeometry, adaptive_avg_pool2d_backward_call, adaptive_avg_pool2d_call


@adaptive_avg_pool2d_call
def adaptive_avg_pool2d(geometry: AdaptiveGeometry, x: np.ndarray) -> np.ndarray:
    """2-D adaptive average pooling as PyTorch CPU defines it, NCHW."""
    out_shape = geometry.output_shape(x.shape)
    if 0 in out_shape[2:]:
        return np.empty(out_shape, dtype=x.dtype)
    (row_start, row_length), (col_start, col_length) = (
        window_bounds(out, size) for out, size in zip(out_shape[2:], x.shape[2:])
    )
    zero = x.dtype.type(0)
    total = np.zeros(out_shape, dtype=x.dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN propagate, silently
        for i in range(row_length.max()):
            for j in range(col_length.max()):
                rows = np.minimum(row_start + i, x.shape[2] - 1)
                cols = np.minimum(col_start + j, x.shape[3] - 1)
                inside = (i < row_length)[:, None] & (j < col_length)[None, :]
                total += np.where(inside, grid(x, rows, cols), zero)
        return total / row_length.astype(x.dtype)[:, None] / col_length.astype(x.dtype)[None, :]


@adaptive_avg_pool2d_backward_call
def adaptive_avg_pool2d_backward(
    geometry: AdaptiveGeometry, dy: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """dL/dX for ``Y = adaptive_avg_pool2d(x, output_size)`` given ``dy = dL/dY``: each element
    adds the shares dY / height / width of the cells that read it."""
    dtype = np.result_type(dy, x)
    dx = np.zeros(x.shape, dtype=dtype)
    (row_start, row_length), (col_start, col_length) = (
        window_bounds(out, size) for out, size in zip(dy.shape[2:], x.shape[2:])
    )
    zero = dtype.type(0)
    with np.errstate(over="ignore", invalid="ignore"):
        share = dy.astype(dtype) / row_length.astype(dtype)[:, None]
        share /= col_length.astype(dtype)[None, :]
        (row_first, row_cells), (col_first, col_cells) = (
            cells_reading(start, start + length, size)
            for start, length, size in (
                (row_start, row_length, x.shape[2]),
                (col_start, col_length, x.shape[3]),
            )
        )
        for a in range(row_cells.max()):
            for b in range(col_cells.max()):
                rows = np.minimum(row_first + a, dy.shape[2] - 1)
                cols = np.minimum(col_first + b, dy.shape[3] - 1)
                reads = (a < row_cells)[:, None] & (b < col_cells)[None, :]
                dx += np.where(reads, grid(share, rows, cols), zero)
    return dx


def grid(a: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``a[:, :, rows[:, None], cols[None, :]]``, as two gathers along one axis each (faster)."""
    return np.take(np.take(a, rows, axis=2), cols, axis=3)


def window_bounds(out_size: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Each cell's first position and its window's length along an axis:
    floor(i * size / out_size) to ceil((i + 1) * size / out_size)."""
    cells = np.arange(out_size)
    start = cells * size // out_size
    end = -(-(cells + 1) * size // out_size)
    return start, end - start


def cells_reading(start: np.ndarray, end: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """For each position along an axis: the first cell whose window holds it, and how many do
    (windows start and end in nondecreasing order, so those cells are consecutive)."""
    positions = np.arange(size)
    first = np.searchsorted(end, positions, side="right")
    last = np.searchsorted(start, positions, side="right") - 1
    return first, last - first + 1
