"""The properties of conv2d and conv2d_backward: the standard ones built from ``SPEC``
(cnnref/checks/standard.py), and bias linearity and SciPy agreement, conv2d's own."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np

from ...checks import standard
from ...checks.base import Candidate, Evidence, claim
from ...checks.compare import as_float64, compare, normwise_tolerance, rtol_for
from ...checks.standard import ConvolutionSpec
from . import hints, scipy_oracle
from .cases import ConvCase, conv_cases
from .scales import (
    conv2d_backward_norm_scales,
    conv2d_backward_scales,
    conv2d_norm_scale,
    conv2d_scale,
)

GRADIENTS = ("dx", "dw", "db")  # backward_normwise's keys


def summed_terms(case: ConvCase) -> dict[str, int]:
    """How many products each output element sums: sets the float32 tolerance."""
    oh, ow = case.y_shape[-2:]
    return standard.convolution_summed_terms(case, dw_pixels=oh * ow)


def _transform_length(case: ConvCase) -> int:
    """Elements of a padded input plane: the length of an FFT over it."""
    (height, width), (ph, pw) = case.x_shape[-2:], case.padding
    return (height + 2 * ph) * (width + 2 * pw)


def forward_normwise(case: ConvCase, x64: np.ndarray, w64: np.ndarray) -> np.ndarray:
    """What FFT or Winograd rounding may add to each output plane of y (compare.py)."""
    scale = conv2d_norm_scale(x64, w64, groups=case.groups)
    return normwise_tolerance(case.dtype, scale, _transform_length(case))


def backward_normwise(
    case: ConvCase, dy64: np.ndarray, x64: np.ndarray, w64: np.ndarray
) -> dict[str, np.ndarray]:
    """The same for each plane of dx and dw (db is a plain sum: none)."""
    scales = conv2d_backward_norm_scales(dy64, x64, w64, groups=case.groups)
    length = _transform_length(case)
    return {name: normwise_tolerance(case.dtype, s, length) for name, s in zip(GRADIENTS, scales)}


FORWARD = (
    "Y[n,o,p,q] = b[o] + sum_{c,i,j} X[n, g*C/G + c, p*s + i*d - pad, q*s + j*d - pad] W[o,c,i,j]"
)
BACKWARD = (
    "dW = Xpad (*) dY (valid correlation, batch summed);  "
    "dX = crop(pad(spread_s(dY)) (*) rot180(W^T));  db = sum_{n,p,q} dY"
)


class Conv2dSpec(ConvolutionSpec):
    op = "conv2d"
    forward_formula = FORWARD
    backward_formula = BACKWARD
    hints = hints
    scale = staticmethod(conv2d_scale)
    gradient_scales = staticmethod(conv2d_backward_scales)
    summed_terms = staticmethod(summed_terms)
    strategy = staticmethod(conv_cases)

    def forward_normwise(self, case, operands64):
        return forward_normwise(case, *operands64[:2])

    def backward_normwise(self, case, dy64, operands64):
        return backward_normwise(case, dy64, *operands64[:2])


SPEC = Conv2dSpec()


def _cases(**fixed):
    """The cases of conv2d's own properties: finite dy, with ``fixed`` fields."""
    return SPEC.draw(then=partial(_replace, **fixed) if fixed else None, dy_values=("finite",))


def _replace(case: ConvCase, **fields) -> ConvCase:
    if fields.get("bias"):  # a bias given cannot be left out
        fields["omitted"] = tuple(name for name in case.omitted if name != "b")
    return replace(case, **fields)


# ---------------------------------------------------------------- conv2d

standard.register(SPEC, "matches_reference")


@claim(
    "conv2d.matches_scipy",
    summary="conv2d agrees with scipy.signal.correlate, image by image and channel by channel.",
    formula=FORWARD,
    cases=_cases(),
)
def forward_matches_scipy(candidate, case, evidence):
    standard.check_forward_matches(SPEC, candidate, case, evidence, scipy_oracle.conv2d_forward)


standard.register(SPEC, "matches_torch")


@claim(
    "conv2d.bias_linearity",
    summary="The bias adds b[o] to every output of channel o, and nothing else.",
    formula="conv2d(x, w, b) - conv2d(x, w, None) = b[o]",
    cases=_cases(bias=True),
)
def bias_is_added_per_channel(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    """conv2d(x, w, b) - conv2d(x, w, None) = b[o] at every output of channel o."""
    x, w, b, _ = case.arrays()
    with_bias = SPEC.call_forward(candidate, case, x, w, b)
    without = SPEC.call_forward(candidate, case, x, w, None)
    difference = with_bias.astype(np.float64) - without
    expected = np.broadcast_to(np.asarray(b, dtype=np.float64)[:, None, None], difference.shape)
    x64, w64, b64 = as_float64(x, w, b)
    scale = conv2d_scale(x64, w64, b64, **case.geometry)
    evidence.require(
        compare(
            difference,
            expected,
            scale=scale,
            rtol=rtol_for(case.dtype, summed_terms(case)["y"]),
            name="conv2d(x, w, b) - conv2d(x, w, None)",
            # Each of the two outputs may carry its normwise rounding.
            normwise=2 * forward_normwise(case, x64, w64),
        )
    )


standard.register(SPEC, "contract")

# ---------------------------------------------------------------- conv2d_backward

standard.register_each(SPEC, standard.BACKWARD_CHECKS)
