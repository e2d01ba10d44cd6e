"""Which input positions the pooling windows read, and what they hold: masks for laws and hints."""

from __future__ import annotations

import numpy as np

from ..reference.geometry import PoolGeometry
from ..reference.literal.pool import window_padding, window_taps
from ..strategies import PoolCase


def each_window(case: PoolCase, x: np.ndarray):
    """For every tap: (values the tap reads in each window, in-bounds mask, input slices)."""
    geometry = PoolGeometry.from_args(**case.geometry)
    out_shape = case.y_shape
    widths = window_padding(geometry, x.shape, out_shape)
    padded = np.pad(np.asarray(x, np.float64), widths, constant_values=np.nan)
    inside = np.pad(np.ones(x.shape[-2:], dtype=bool), widths[2:], constant_values=False)
    for _, rows, cols in window_taps(geometry, out_shape[-2:]):
        yield padded[..., rows, cols], inside[rows, cols], (rows, cols), widths


def count_over_inputs(case: PoolCase, x: np.ndarray, per_window) -> np.ndarray:
    """For each input position, how many windows reading it have ``per_window(values)`` True."""
    count = None
    for values, inside, (rows, cols), widths in each_window(case, x):
        if count is None:
            count = np.zeros([n + a + b for n, (a, b) in zip(x.shape, widths)], dtype=int)
        count[..., rows, cols] += per_window(values) & inside
    (top, _), (left, _) = widths[2:]
    return count[..., top : top + case.height, left : left + case.width]


def spread_to_inputs(case: PoolCase, x: np.ndarray, window_mask: np.ndarray) -> np.ndarray:
    """Input positions read by at least one window where ``window_mask`` is True."""
    return count_over_inputs(case, x, lambda values: window_mask) > 0


def maxima_positions(case: PoolCase, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Input positions that hold the maximum (or a NaN maximum) of a window containing them."""
    return count_over_inputs(case, x, lambda v: (v == y) | (np.isnan(v) & np.isnan(y))) > 0


def window_counts(case: PoolCase, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How many in-bounds elements of each window equal its maximum."""
    count = np.zeros(case.y_shape, dtype=int)
    for values, inside, _, _ in each_window(case, x):
        count += (values == y) & inside
    return count
