"""max_pool2d and its gradient: each window routes dL/dY to its argmax.

The argmax follows PyTorch CPU exactly.  Walking a window in row-major order
over its in-bounds elements, an element takes over when it is strictly
greater than the best so far or when it is NaN.  So the first strict maximum
wins a tie, the last NaN wins over everything, and a window of -inf only
keeps its first in-bounds element.  Padding is never read.

This is the literal form, kept as the oracle the fast path (reference/fast/)
is checked against; ``cnnref.max_pool2d`` runs the fast path, which shares
the window geometry helpers below.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..geometry import (
    IntOrPair,
    PoolGeometry,
    check_max_pool2d_backward_call,
    check_max_pool2d_call,
    effective_kernel,
)


def max_pool2d(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """``cnnref.max_pool2d`` in the literal form: each window's maximum, tap by tap."""
    geometry, x = check_max_pool2d_call(x, kernel_size, stride, padding, dilation, ceil_mode)
    maximum, _ = route_to_argmax(x, geometry)
    return maximum


def max_pool2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """``cnnref.max_pool2d_backward`` in the literal form.

    Each window adds its dL/dY to the input element it routed to; where
    windows overlap, the contributions accumulate.
    """
    geometry, dy, x, dtype = check_max_pool2d_backward_call(
        dy, x, kernel_size, stride, padding, dilation, ceil_mode
    )
    _, winner = route_to_argmax(x, geometry)

    widths = window_padding(geometry, x.shape, dy.shape)
    dx_padded = np.zeros([n + before + after for n, (before, after) in zip(x.shape, widths)], dtype)
    for tap, rows, cols in window_taps(geometry, dy.shape[-2:]):
        # Distinct windows read distinct positions for one tap: a strided add accumulates.
        dx_padded[..., rows, cols] += np.where(winner == tap, dy, 0)
    (ph, pw), (height, width) = geometry.padding, x.shape[-2:]
    return np.ascontiguousarray(dx_padded[..., ph : ph + height, pw : pw + width])


def route_to_argmax(x: np.ndarray, geometry: PoolGeometry) -> tuple[np.ndarray, np.ndarray]:
    """Each window's maximum and the row-major index, within the window, of the element it routes to."""
    out_shape = geometry.output_shape(x.shape)
    height, width = x.shape[-2:]
    # Padding is filled with NaN but masked out below: it is never read.
    x_padded = np.pad(x, window_padding(geometry, x.shape, out_shape), constant_values=np.nan)
    in_bounds_rows = geometry.taps_in_bounds("height", height, out_shape[-2])
    in_bounds_cols = geometry.taps_in_bounds("width", width, out_shape[-1])

    maximum = np.full(out_shape, -np.inf, dtype=x.dtype)
    winner = np.full(out_shape, first_in_bounds_tap(geometry, in_bounds_rows, in_bounds_cols))
    for tap, rows, cols in window_taps(geometry, out_shape[-2:]):
        i, j = divmod(tap, geometry.kernel_size[1])
        value = x_padded[..., rows, cols]
        in_bounds = in_bounds_rows[i][:, None] & in_bounds_cols[j][None, :]
        takes_over = in_bounds & ((value > maximum) | np.isnan(value))
        maximum = np.where(takes_over, value, maximum)
        winner = np.where(takes_over, tap, winner)
    return maximum, winner


def window_taps(
    geometry: PoolGeometry, out_size: tuple[int, int]
) -> Iterator[tuple[int, slice, slice]]:
    """For each tap (i, j) of the window, in row-major order: its index and the
    slices of the padded input that it reads across all windows."""
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel_size, geometry.stride, geometry.dilation
    oh, ow = out_size
    for i, j in np.ndindex(kh, kw):
        rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
        cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
        yield i * kw + j, rows, cols


def window_padding(
    geometry: PoolGeometry, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> list[tuple[int, int]]:
    """``np.pad`` widths that make every window fit: ``padding`` on each side, and more
    on the far side where ceil_mode lets the last window hang over the padded input."""
    widths = [(0, 0), (0, 0)]
    for size, out, k, s, p, d in zip(
        in_shape[-2:],
        out_shape[-2:],
        geometry.kernel_size,
        geometry.stride,
        geometry.padding,
        geometry.dilation,
    ):
        last_window_end = (out - 1) * s + effective_kernel(k, d)
        widths.append((p, max(p, last_window_end - size - p)))
    return widths


def first_in_bounds_tap(geometry: PoolGeometry, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Row-major index of each window's first in-bounds element (where -inf windows route)."""
    first_row = rows.argmax(axis=0)  # argmax of a boolean array: first True
    first_col = cols.argmax(axis=0)
    return first_row[:, None] * geometry.kernel_size[1] + first_col[None, :]
