"""The properties of avg_pool2d and avg_pool2d_backward, the standard ones built from ``SPEC``
(cnnref/checks/standard.py).

avg_pool2d is linear in x: each output is a sum of inputs times 1/divisor.
So its tolerances are those of a sum (the scale is the op applied to |x|, or
the backward to |dY|), central finite differences are exact for any step,
and the backward is the forward's adjoint.
"""

from __future__ import annotations

from typing import ClassVar

from ...checks import standard
from ...checks.standard import AveragePoolSpec
from . import hints
from .cases import AvgPoolCase, avg_pool_cases
from .scales import avg_pool2d_backward_scale, avg_pool2d_scale


def summed_terms(case: AvgPoolCase) -> dict[str, int]:
    """How many terms an output (a window's sum, then a division) or an element of dx (a share
    from each window that reads it) adds up: sets the float32 tolerance."""
    kh, kw = case.kernel_size
    return {"y": kh * kw + 1, "dx": kh * kw + 1}


FORWARD = (
    "Y[n,c,p,q] = sum over (i,j) with (p*s + i - pad, q*s + j - pad) in x of "
    "X[n, c, p*s + i - pad, q*s + j - pad] / divisor(p, q)"
)
DIVISORS = (
    "divisor = divisor_override, else the window's positions inside the padded input "
    "(count_include_pad), else its elements inside x"
)
BACKWARD = "dX[u,v] = sum over the windows (p,q) that read (u,v) of dY[p,q] / divisor(p, q)"


class AvgPool2dSpec(AveragePoolSpec):
    op = "avg_pool2d"
    forward_formula = FORWARD
    backward_formula = BACKWARD
    reference_covers = "padding, ceil_mode's last window, count_include_pad and divisor_override"
    gradient_spread = "each window's dY / divisor added to every element it read"
    formulas: ClassVar[dict[str, str]] = {
        "matches_reference": f"{FORWARD};  {DIVISORS}",
        "backward.matches_reference": f"{BACKWARD};  {DIVISORS}",
    }
    scale = staticmethod(avg_pool2d_scale)
    gradient_scales = staticmethod(avg_pool2d_backward_scale)

    summed_terms = staticmethod(summed_terms)
    hints = hints
    strategy = staticmethod(avg_pool_cases)


SPEC = AvgPool2dSpec()
standard.register_all(SPEC)
