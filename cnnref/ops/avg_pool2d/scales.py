"""The magnitudes avg_pool2d's rounding errors are measured against.

Each output sums at most kh*kw inputs and divides once, and each element of
dx sums a share of dY from every window that reads it: the same sums over
absolute values bound how much rounding can move them (docs/tolerances.md).
A negative divisor_override makes them negative; compare takes their size.
"""

from __future__ import annotations

import numpy as np

from .fast import avg_pool2d, avg_pool2d_backward


def avg_pool2d_scale(x: np.ndarray, **geometry) -> np.ndarray:
    return avg_pool2d(np.abs(x), **geometry)


def avg_pool2d_backward_scale(dy: np.ndarray, x: np.ndarray, **geometry) -> np.ndarray:
    return avg_pool2d_backward(np.abs(dy), x, **geometry)
