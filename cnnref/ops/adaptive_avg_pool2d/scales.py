"""The magnitudes adaptive_avg_pool2d's rounding errors are measured against.

Each output sums its window and divides twice, and each element of dx sums
a share of dY from every cell that reads it: the same sums over absolute
values bound how much rounding can move them (docs/tolerances.md).
"""

from __future__ import annotations

import numpy as np

from .fast import adaptive_avg_pool2d, adaptive_avg_pool2d_backward


def adaptive_avg_pool2d_scale(x: np.ndarray, **geometry) -> np.ndarray:
    return adaptive_avg_pool2d(np.abs(x), **geometry)


def adaptive_avg_pool2d_backward_scale(dy: np.ndarray, x: np.ndarray, **geometry) -> np.ndarray:
    return adaptive_avg_pool2d_backward(np.abs(dy), x, **geometry)
