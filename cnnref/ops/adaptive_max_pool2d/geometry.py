"""adaptive_max_pool2d's arguments: the adaptive pools' output size and its checks
(``cnnref.ops.adaptive_avg_pool2d.geometry``), which both forms run first."""

from ..adaptive_avg_pool2d.geometry import (
    AdaptiveGeometry,
    OutputSize,
    check_adaptive_backward_call,
    check_adaptive_call,
)

__all__ = [
    "AdaptiveGeometry",
    "OutputSize",
    "check_adaptive_backward_call",
    "check_adaptive_call",
]
