"""adaptive_max_pool2d's arguments: the adaptive pools' output size and its checks
(``cnnref.ops.adaptive_avg_pool2d.geometry``), and return_indices, which both forms run first."""

from __future__ import annotations

import numpy as np

from ..adaptive_avg_pool2d.geometry import (
    AdaptiveGeometry,
    check_adaptive_backward_call,
    check_adaptive_call,
)
from ..calls import public_function


def check_adaptive_max_pool2d_call(
    x: object, output_size: object, return_indices: object
) -> tuple[AdaptiveGeometry, np.ndarray, bool]:
    """The checked geometry, x, and whether to return the indices too (any truth value, as
    PyTorch reads it)."""
    return (*check_adaptive_call(x, output_size), bool(return_indices))


# Both forms' public functions: the call read and checked, then the form's arithmetic.
adaptive_max_pool2d_call = public_function(
    "adaptive_max_pool2d", check_adaptive_max_pool2d_call, return_indices=False
)
adaptive_max_pool2d_backward_call = public_function(
    "adaptive_max_pool2d_backward", check_adaptive_backward_call
)
