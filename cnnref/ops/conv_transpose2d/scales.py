"""The magnitudes conv_transpose2d's rounding is measured against: the op on |operands|.

Every output of the transposed convolution (and each of its gradients) is a sum
of products, so the same sums over absolute values bound how far rounding can
move it (cnnref/checks/compare.py, docs/tolerances.md).
"""

from __future__ import annotations

import numpy as np

from ... import reference


def _magnitude(array: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(array, dtype=np.float64))


def conv_transpose2d_scale(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry
) -> np.ndarray:
    """conv_transpose2d(|x|, |w|, |b|): the magnitude of the terms each output sums."""
    magnitude_b = None if b is None else _magnitude(b)
    return reference.conv_transpose2d(_magnitude(x), _magnitude(w), magnitude_b, **geometry)


def conv_transpose2d_backward_scales(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The same for dx, dw and db."""
    magnitude_b = None if b is None else _magnitude(b)
    return reference.conv_transpose2d_backward(
        _magnitude(dy), _magnitude(x), _magnitude(w), magnitude_b, **geometry
    )
