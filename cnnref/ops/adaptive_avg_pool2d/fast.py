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
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN propagate, silently
        total = run_sums(x, row_start, row_length, col_start, col_length)
        return total / row_length.astype(x.dtype)[:, None] / col_length.astype(x.dtype)[None, :]


@adaptive_avg_pool2d_backward_call
def adaptive_avg_pool2d_backward(
    geometry: AdaptiveGeometry, dy: np.ndarray, x: np.ndarray
) -> np.ndarray:
    """dL/dX for ``Y = adaptive_avg_pool2d(x, output_size)`` given ``dy = dL/dY``: each element
    adds the shares dY / height / width of the cells that read it."""
    dtype = np.result_type(dy, x)
    (row_start, row_length), (col_start, col_length) = (
        window_bounds(out, size) for out, size in zip(dy.shape[2:], x.shape[2:])
    )
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
        return run_sums(share, row_first, row_cells, col_first, col_cells)


def run_sums(
    a: np.ndarray, row_first: np.ndarray, rows: np.ndarray, col_first: np.ndarray, cols: np.ndarray
) -> np.ndarray:
    """For each (p, q), the sum of ``a[:, :, row_first[p] + i, col_first[q] + j]`` over
    ``i < rows[p]`` and ``j < cols[q]``: a run of rows by a run of columns, added tap by tap in
    row-major order from +0, a tap past a run's end adding +0."""
    zero = a.dtype.type(0)
    total = np.zeros((*a.shape[:2], row_first.size, col_first.size), dtype=a.dtype)
    for i in range(rows.max()):
        for j in range(cols.max()):
            taken_rows = np.minimum(row_first + i, a.shape[2] - 1)
            taken_cols = np.minimum(col_first + j, a.shape[3] - 1)
            inside = (i < rows)[:, None] & (j < cols)[None, :]
            total += np.where(inside, grid(a, taken_rows, taken_cols), zero)
    return total


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
