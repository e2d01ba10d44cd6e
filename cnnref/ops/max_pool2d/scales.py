"""The magnitude max_pool2d_backward's rounding errors are measured against.

Only the backward sums anything (where windows overlap); the same sum over
|dy| bounds how much rounding can move it.
"""

from __future__ import annotations

import numpy as np

from .fast import max_pool2d_backward


def max_pool2d_backward_scale(dy: np.ndarray, x: np.ndarray, **geometry) -> np.ndarray:
    """``geometry`` may carry the reference's convention options (ties, nan, pad_value)."""
    return max_pool2d_backward(np.abs(dy), x, **geometry)
