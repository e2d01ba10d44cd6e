"""The properties of conv_transpose2d and conv_transpose2d_backward, the standard ones built
from ``SPEC`` (cnnref/checks/standard.py)."""

from __future__ import annotations

from typing import ClassVar

from ...checks import standard
from ...checks.standard import ConvolutionSpec
from . import hints
from .cases import ConvTransposeCase, conv_transpose_cases
from .scales import conv_transpose2d_backward_scales, conv_transpose2d_scale


def summed_terms(case: ConvTransposeCase) -> dict[str, int]:
    """How many products each output element sums (at most): sets the float32 tolerance."""
    return standard.convolution_summed_terms(case, dw_pixels=case.height * case.width)


FORWARD = (
    "Y = b + crop_p(Yp),  Yp[n, g*O'+o, i*s + ki*d, j*s + kj*d] += "
    "X[n, g*C'+c, i, j] W[g*C'+c, o, ki, kj]  (output_padding extends the crop at the end)"
)
BACKWARD = (
    "dX = conv2d(pad_p(dY), W) (unpadded, same stride, dilation, groups);  "
    "dW[c, o, ki, kj] = sum_{n,i,j} X[n, c, i, j] pad_p(dY)[n, o, i*s + ki*d, j*s + kj*d];  "
    "db = sum_{n,p,q} dY"
)


class ConvTranspose2dSpec(ConvolutionSpec):
    op = "conv_transpose2d"
    forward_formula = FORWARD
    backward_formula = BACKWARD
    summaries: ClassVar[dict[str, str]] = {
        "backward.finite_differences": "dx and dw agree with central finite differences of the candidate's own conv_transpose2d (the reference's if it has none), on examples where that forward matches the reference: full Jacobians on small shapes, random sign projections on large ones.",
    }
    hints = hints
    scale = staticmethod(conv_transpose2d_scale)
    gradient_scales = staticmethod(conv_transpose2d_backward_scales)
    summed_terms = staticmethod(summed_terms)
    strategy = staticmethod(conv_transpose_cases)
    # windows is a pooling convention: no conv_transpose2d geometry is left out.
    takes_windows = False


SPEC = ConvTranspose2dSpec()
standard.register_all(SPEC)
