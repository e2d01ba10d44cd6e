"""The properties of adaptive_avg_pool2d and adaptive_avg_pool2d_backward, the standard ones
built from ``SPEC`` (cnnref/checks/standard.py).

adaptive_avg_pool2d is linear in x: each output is its window's sum divided
by the window's height and width.  So its tolerances are those of a sum (the
scale is the op applied to |x|, or the backward to |dY|), central finite
differences are exact for any step, and the backward is the forward's adjoint.
"""

from __future__ import annotations

from ...checks import standard
from ...checks.standard import AveragePoolSpec
from . import hints
from .cases import AdaptivePoolCase, adaptive_avg_pool_cases
from .scales import adaptive_avg_pool2d_backward_scale, adaptive_avg_pool2d_scale


def longest_window(out_size: int, size: int) -> int:
    """An upper bound on a window's length along a side: ceil(size / out_size) + 1."""
    return -(-size // out_size) + 1


def summed_terms(case: AdaptivePoolCase) -> dict[str, int]:
    """How many terms an output (its window's sum, then two divisions) or an element of dx (a
    share from each cell that reads it, each divided twice) adds up: sets the float32
    tolerance."""
    (oh, ow), (height, width) = case.y_shape[2:], case.x_shape[2:]
    window = longest_window(oh, height) * longest_window(ow, width)
    cells = longest_window(height, oh) * longest_window(width, ow)  # cells reading an element
    return {"y": window + 2, "dx": cells + 2}


WINDOWS = "cell i of O over a side n reads floor(i*n/O) <= u < ceil((i+1)*n/O)"
FORWARD = (
    "Y[n,c,p,q] = sum of X[n,c,u,v] over the window (u,v) of cell (p,q) / kh(p) / kw(q);  "
    + WINDOWS
)
BACKWARD = "dX[u,v] = sum over the cells (p,q) whose window holds (u,v) of dY[p,q] / kh(p) / kw(q)"


class AdaptiveAvgPool2dSpec(AveragePoolSpec):
    op = "adaptive_avg_pool2d"
    forward_formula = FORWARD
    backward_formula = BACKWARD
    reference_covers = (
        "windows of varying size that overlap unevenly, upsampling and None in output_size"
    )
    gradient_spread = (
        "each cell's dY / kh / kw added to every element of its window, overlaps accumulated"
    )
    scale = staticmethod(adaptive_avg_pool2d_scale)
    gradient_scales = staticmethod(adaptive_avg_pool2d_backward_scale)

    summed_terms = staticmethod(summed_terms)
    hints = hints
    strategy = staticmethod(adaptive_avg_pool_cases)
    takes_windows = False


SPEC = AdaptiveAvgPool2dSpec()
standard.register_all(SPEC)
