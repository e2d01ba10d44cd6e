"""The properties of conv_transpose2d and conv_transpose2d_backward, the standard ones built
from ``SPEC`` (cnnref/checks/standard.py)."""

from __future__ import annotations

from ...checks import standard
from ...checks.standard import ConvolutionSpec
from ...strategies import DY_VALUES, SIZE_CLASSES
from . import hints
from .cases import ConvTransposeCase, conv_transpose_cases
from .scales import conv_transpose2d_backward_scales, conv_transpose2d_scale


def summed_terms(case: ConvTransposeCase) -> dict[str, int]:
    """How many products each output element sums (at most): sets the float32 tolerance."""
    kh, kw = case.kernel_size
    oh, ow = case.y_shape[-2:]
    return {
        "y": case.in_channels // case.groups * kh * kw + 1,
        "dx": case.out_channels // case.groups * kh * kw,
        "dw": case.batch * case.height * case.width,
        "db": case.batch * oh * ow,
    }


class ConvTranspose2dSpec(ConvolutionSpec):
    op = "conv_transpose2d"
    hints = hints
    scale = staticmethod(conv_transpose2d_scale)
    gradient_scales = staticmethod(conv_transpose2d_backward_scales)

    def summed_terms(self, case):
        return summed_terms(case)


SPEC = ConvTranspose2dSpec()


def _cases(dy_values=("finite",)):
    def cases(
        dtype: str | None,
        unsupported: frozenset[str],
        windows: str = "partial",  # a pooling convention: no conv_transpose2d geometry is left out
        sizes=SIZE_CLASSES,
    ):
        return conv_transpose_cases(
            dtype=dtype, unsupported=unsupported, dy_values=dy_values, sizes=sizes
        )

    return cases


FORWARD = (
    "Y = b + crop_p(Yp),  Yp[n, g*O'+o, i*s + ki*d, j*s + kj*d] += "
    "X[n, g*C'+c, i, j] W[g*C'+c, o, ki, kj]  (output_padding extends the crop at the end)"
)
BACKWARD = (
    "dX = conv2d(pad_p(dY), W) (unpadded, same stride, dilation, groups);  "
    "dW[c, o, ki, kj] = sum_{n,i,j} X[n, c, i, j] pad_p(dY)[n, o, i*s + ki*d, j*s + kj*d];  "
    "db = sum_{n,p,q} dY"
)


standard.register(
    SPEC,
    "matches_reference",
    summary="conv_transpose2d agrees with cnnref's reference element by element.",
    formula=FORWARD,
    cases=_cases(),
)
standard.register(
    SPEC,
    "matches_torch",
    summary="conv_transpose2d agrees with torch.nn.functional.conv_transpose2d.",
    formula=FORWARD,
    cases=_cases(),
)
standard.register(
    SPEC,
    "contract",
    summary="conv_transpose2d returns a new ndarray of the right shape and dtype, finite, the same on every call, and leaves its inputs alone.",
    formula="dtype(Y) = result_type(X, W, b)",
    cases=_cases(),
)
standard.register(
    SPEC,
    "backward.matches_reference",
    summary="dx, dw and db agree with cnnref's reference element by element.",
    formula=BACKWARD,
    cases=_cases(),
)
standard.register(
    SPEC,
    "backward.finite_differences",
    summary="dx and dw agree with central finite differences of the candidate's own conv_transpose2d (the reference's if it has none), on examples where that forward matches the reference: full Jacobians on small shapes, random sign projections on large ones.",
    formula="<dL/dX, v> = d/dt <conv_transpose2d(X + t v, W), dY>",
    cases=_cases(),
)
standard.register(
    SPEC,
    "backward.adjointness",
    summary="The gradients are the adjoints of the forward: <conv_transpose2d(x, w), g> = <x, dX(g)> = <w, dW(g)>.",
    formula="<conv_transpose2d(X, W), G> = <X, dX(G)> = <W, dW(G)>",
    cases=_cases(),
)
standard.register(
    SPEC,
    "backward.matches_torch",
    summary="dx, dw and db agree with PyTorch autograd.",
    formula=BACKWARD,
    cases=_cases(),
)
standard.register(
    SPEC,
    "backward.contract",
    summary="conv_transpose2d_backward returns new arrays (db None without b) of the right shapes and dtype, finite for finite inputs, deterministic, zero for zero dy, and leaves its inputs alone (dy with NaN and inf included).",
    formula="dtype = result_type(dY, X, W, b)",
    cases=_cases(dy_values=DY_VALUES),
)
