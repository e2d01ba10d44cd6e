"""The magnitudes rounding errors are measured against: each op applied to |operands|.

Every output element of conv2d (and each gradient) is a sum of products; the
same sum over absolute values bounds how much rounding can move it.  For
max pooling only the backward sums anything (overlapping windows).
"""

from __future__ import annotations

import numpy as np

from ..reference import conv2d, conv2d_backward, max_pool2d_backward


def conv2d_scale(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry) -> np.ndarray:
    return conv2d(np.abs(x), np.abs(w), None if b is None else np.abs(b), **geometry)


def conv2d_backward_scales(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    return conv2d_backward(
        np.abs(dy), np.abs(x), np.abs(w), None if b is None else np.abs(b), **geometry
    )


def max_pool2d_backward_scale(dy: np.ndarray, x: np.ndarray, **geometry) -> np.ndarray:
    """``geometry`` may carry the reference's convention options (ties, nan, pad_value)."""
    return max_pool2d_backward(np.abs(dy), x, **geometry)
