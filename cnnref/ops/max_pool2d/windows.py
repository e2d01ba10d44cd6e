"""Which input positions the pooling windows read, and what they hold: masks for laws and hints."""

from __future__ import annotations

import numpy as np

from ...declarations import PYTORCH_CONVENTIONS, Conventions
from .cases import MaxPoolCase
from .geometry import PADDING_FILL, PoolGeometry


def each_window(case: MaxPoolCase, x: np.ndarray, pad_value: str = "-inf"):
    """For every tap: (values the tap reads in each window, in-bounds mask, read mask, input slices).

    Unread positions hold NaN; with ``pad_value="zeros"`` the padding is read and holds 0
    (-inf with ``"-inf-competes"``).
    """
    geometry = PoolGeometry.from_args(**case.geometry)
    out_shape = case.y_shape
    widths = geometry.window_padding(x.shape, out_shape)
    padded = np.pad(np.asarray(x, np.float64), widths, constant_values=np.nan)
    inside = np.pad(np.ones(x.shape[-2:], dtype=bool), widths[2:], constant_values=False)
    read = inside
    fill = PADDING_FILL[pad_value]
    if fill is not None:
        (ph, pw), (height, width) = case.padding, x.shape[-2:]
        read = np.zeros(inside.shape, dtype=bool)
        read[: height + 2 * ph, : width + 2 * pw] = True
        padded[..., read & ~inside] = fill
    for _, rows, cols in geometry.window_taps(out_shape[-2:]):
        yield padded[..., rows, cols], inside[rows, cols], read[rows, cols], (rows, cols), widths


def count_over_inputs(case: MaxPoolCase, x: np.ndarray, per_window) -> np.ndarray:
    """For each input position, how many windows reading it have ``per_window(values)`` True."""
    count = None
    for values, inside, _, (rows, cols), widths in each_window(case, x):
        if count is None:
            count = np.zeros([n + a + b for n, (a, b) in zip(x.shape, widths)], dtype=int)
        count[..., rows, cols] += per_window(values) & inside
    assert count is not None  # every pool has a window
    (top, _), (left, _) = widths[2:]
    return count[..., top : top + case.height, left : left + case.width]


def spread_to_inputs(case: MaxPoolCase, x: np.ndarray, window_mask: np.ndarray) -> np.ndarray:
    """Input positions read by at least one window where ``window_mask`` is True."""
    return count_over_inputs(case, x, lambda values: window_mask) > 0


def _is_maximum(values: np.ndarray, y: np.ndarray, conventions: Conventions) -> np.ndarray:
    """Where a tap holds its window's maximum ``y``: equal to it, or NaN where NaN wins."""
    if conventions.nan == "ignore":
        return values == y
    return (values == y) | (np.isnan(values) & np.isnan(y))


def maxima_positions(
    case: MaxPoolCase, x: np.ndarray, y: np.ndarray, conventions: Conventions = PYTORCH_CONVENTIONS
) -> np.ndarray:
    """Input positions that hold the maximum (or a NaN maximum) of a window containing them."""
    return count_over_inputs(case, x, lambda v: _is_maximum(v, y, conventions)) > 0


def window_counts(case: MaxPoolCase, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How many in-bounds elements of each window equal its maximum."""
    count = np.zeros(case.y_shape, dtype=int)
    for values, inside, _, _, _ in each_window(case, x):
        count += (values == y) & inside
    return count


def share_kept(
    case: MaxPoolCase, x: np.ndarray, y: np.ndarray, conventions: Conventions
) -> np.ndarray:
    """For each window (the shape of y): the fraction of its dL/dY that reaches the input.

    1 under PyTorch's conventions.  Less where zero padding holds a maximum
    (gradient routed there is dropped) and 0 for a window of NaN only when NaN
    is ignored (no maximum, nothing routed).  ``ties="first"`` routes to the
    first maximum (the last NaN), ``"split"`` shares between all of them.
    """
    maxima = np.zeros(y.shape, dtype=int)
    inside_maxima = np.zeros(y.shape, dtype=int)
    first_inside: np.ndarray | None = None
    last_inside: np.ndarray | None = None
    for values, inside, read, _, _ in each_window(case, x, conventions.pad_value):
        is_max = _is_maximum(values, y, conventions) & read
        first_inside = np.where(
            (maxima == 0) & is_max, inside, False if first_inside is None else first_inside
        )
        last_inside = np.where(is_max, inside, False if last_inside is None else last_inside)
        maxima += is_max
        inside_maxima += is_max & inside
    if conventions.ties == "split":
        return np.where(maxima > 0, inside_maxima / np.maximum(maxima, 1), 0.0)
    assert first_inside is not None and last_inside is not None  # every pool has a window
    nan_routes_to = first_inside if conventions.nan == "first" else last_inside
    routed_inside = np.where(np.isnan(y), nan_routes_to, first_inside)
    return np.where(maxima > 0, routed_inside, False).astype(np.float64)
