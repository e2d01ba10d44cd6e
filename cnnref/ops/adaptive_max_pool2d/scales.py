"""The magnitude adaptive_max_pool2d_backward's rounding errors are measured against.

Only the backward sums anything (where overlapping windows select one element);
the same sum over |dy| bounds how much rounding can move it.
"""

from __future__ import annotations

import numpy as np

from .fast import adaptive_max_pool2d_backward


def adaptive_max_pool2d_backward_scale(dy: np.ndarray, x: np.ndarray, **geometry) -> np.ndarray:
    return adaptive_max_pool2d_backward(np.abs(dy), x, **geometry)
