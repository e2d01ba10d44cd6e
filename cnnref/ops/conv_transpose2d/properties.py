"""The properties of conv_transpose2d and conv_transpose2d_backward, each registered where its
check is defined."""

from __future__ import annotations

from functools import partial

import numpy as np

from ... import reference
from ...oracles import finite_differences
from ...properties import base, contract
from ...properties.base import (
    Candidate,
    Evidence,
    Falsified,
    claim,
    expect_array,
    type_name,
    unpack,
)
from ...properties.compare import as_float64, compare, rtol_for, summation_rtol
from ...strategies import DY_VALUES, SIZE_CLASSES
from ..arguments import common_dtype
from . import torch_oracle
from .cases import ConvTransposeCase, conv_transpose_cases
from .hints import backward_hints, forward_hints, shape_hints
from .scales import conv_transpose2d_backward_scales, conv_transpose2d_scale

GRADIENTS = ("dx", "dw", "db")


def _terms(case: ConvTransposeCase) -> dict[str, int]:
    """How many products each output element sums (at most): sets the float32 tolerance."""
    kh, kw = case.kernel_size
    oh, ow = case.y_shape[-2:]
    return {
        "y": case.in_channels // case.groups * kh * kw + 1,
        "dx": case.out_channels // case.groups * kh * kw,
        "dw": case.batch * case.height * case.width,
        "db": case.batch * oh * ow,
    }


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


# ---------------------------------------------------------------- conv_transpose2d


def _call_forward(candidate: Candidate, case: ConvTransposeCase, x, w, b) -> np.ndarray:
    args, kwargs = case.spell(x, w, b)
    return _expect_y(case, candidate.call("conv_transpose2d", *args, **kwargs))


def _expect_y(case: ConvTransposeCase, result) -> np.ndarray:
    return expect_array(
        result,
        function="conv_transpose2d",
        name="y",
        shape=case.y_shape,
        hints=lambda wrong: shape_hints(case, wrong),
    )


def check_forward_matches(
    candidate: Candidate, case: ConvTransposeCase, evidence: Evidence, oracle
) -> None:
    x, w, b, _ = case.arrays()
    y = _call_forward(candidate, case, x, w, b)
    x64, w64, b64 = as_float64(x, w, b)
    scale = conv_transpose2d_scale(x64, w64, b64, **case.geometry)
    expected = oracle(x64, w64, b64, **case.geometry)
    comparison = compare(
        y, expected, scale=scale, rtol=rtol_for(case.dtype, _terms(case)["y"]), name="y"
    )
    evidence.require(
        comparison,
        partial(forward_hints, case, x64, w64, b64, expected, y, scale),
        inputs={"x": x, "w": w, "b": b},
    )


@claim(
    "conv_transpose2d.matches_reference",
    summary="conv_transpose2d agrees with cnnref's reference element by element.",
    formula=FORWARD,
    cases=_cases(),
)
def forward_matches_reference(candidate, case, evidence):
    check_forward_matches(candidate, case, evidence, reference.conv_transpose2d)


def trusted_forward(candidate: Candidate, case: ConvTransposeCase):
    """The candidate's own conv_transpose2d once it matches the reference here (base.trusted_forward)."""
    return base.trusted_forward(
        candidate,
        case,
        "conv_transpose2d",
        judge=lambda: forward_matches_reference(candidate, case, Evidence()),
        reference=partial(reference.conv_transpose2d, **case.geometry),
        expect=partial(_expect_y, case),
    )


@claim(
    "conv_transpose2d.matches_torch",
    summary="conv_transpose2d agrees with torch.nn.functional.conv_transpose2d.",
    formula=FORWARD,
    cases=_cases(),
    needs_torch=True,
)
def forward_matches_torch(candidate, case, evidence):
    check_forward_matches(candidate, case, evidence, torch_oracle.conv_transpose2d_forward)


@claim(
    "conv_transpose2d.contract",
    summary="conv_transpose2d returns a new ndarray of the right shape and dtype, finite, the same on every call, and leaves its inputs alone.",
    formula="dtype(Y) = result_type(X, W, b)",
    cases=_cases(),
)
def forward_contract(candidate: Candidate, case: ConvTransposeCase, evidence: Evidence) -> None:
    x, w, b, _ = case.arrays()
    outputs = contract.call_and_check(
        candidate,
        "conv_transpose2d",
        *case.spell(x, w, b),
        names=("y",),
        shapes=(case.y_shape,),
        dtype=common_dtype(x, w, b),
    )
    contract.require_finite(outputs, "conv_transpose2d", "finite inputs")


# ---------------------------------------------------------------- conv_transpose2d_backward


def _call_backward(candidate: Candidate, case: ConvTransposeCase, dy, x, w, b) -> tuple:
    function = "conv_transpose2d_backward"
    args, kwargs = case.spell(dy, x, w, b)
    result = unpack(candidate.call(function, *args, **kwargs), function=function, names=GRADIENTS)
    dx = expect_array(result[0], function=function, name="dx", shape=case.x_shape)
    dw = expect_array(result[1], function=function, name="dw", shape=case.w_shape)
    if b is None:
        if result[2] is not None:
            raise Falsified(
                f"{function} returned db={type_name(result[2])} for b=None; expected None"
            )
        return dx, dw, None
    return dx, dw, expect_array(result[2], function=function, name="db", shape=(case.out_channels,))


def check_backward_matches(
    candidate: Candidate, case: ConvTransposeCase, evidence: Evidence, oracle
) -> None:
    x, w, b, dy = case.arrays()
    actual = _call_backward(candidate, case, dy, x, w, b)
    x64, w64, b64, dy64 = as_float64(x, w, b, dy)
    expected = oracle(dy64, x64, w64, b64, **case.geometry)
    scales = conv_transpose2d_backward_scales(dy64, x64, w64, b64, **case.geometry)
    terms = _terms(case)
    for name, got, want, scale in zip(GRADIENTS, actual, expected, scales):
        if got is None:
            continue
        assert scale is not None  # only db's is None, when there is no bias and so no db
        comparison = compare(
            got, want, scale=scale, rtol=rtol_for(case.dtype, terms[name]), name=name
        )
        evidence.require(
            comparison,
            partial(backward_hints, case, name, x64, w64, dy64, want, got, scale),
            inputs={"dy": dy, "x": x, "w": w},
        )


@claim(
    "conv_transpose2d_backward.matches_reference",
    summary="dx, dw and db agree with cnnref's reference element by element.",
    formula=BACKWARD,
    cases=_cases(),
)
def backward_matches_reference(candidate, case, evidence):
    check_backward_matches(candidate, case, evidence, reference.conv_transpose2d_backward)


@claim(
    "conv_transpose2d_backward.finite_differences",
    summary="dx and dw agree with central finite differences of the candidate's own conv_transpose2d (the reference's if it has none), on examples where that forward matches the reference: full Jacobians on small shapes, random sign projections on large ones.",
    formula="<dL/dX, v> = d/dt <conv_transpose2d(X + t v, W), dY>",
    cases=_cases(),
    calls=("conv_transpose2d",),
)
def backward_finite_differences(
    candidate: Candidate, case: ConvTransposeCase, evidence: Evidence
) -> None:
    """dx and dw against central differences of the forward.

    conv_transpose2d is linear in x and in w, so a central difference is exact
    for any step: a unit step keeps the rounding error smallest.
    """
    x, w, b, dy = case.arrays()
    forward = trusted_forward(candidate, case)
    dx, dw, _ = _call_backward(candidate, case, dy, x, w, b)
    tolerance = summation_rtol(case.dtype, max(_terms(case).values()), dy.size)
    rng = np.random.default_rng(case.seed + 1)

    def magnitude(step_x=0.0, step_w=0.0) -> float:
        """<conv_transpose2d(|x| + step, |w| + step, |b|), |dy|>: what the losses sum."""
        scale = conv_transpose2d_scale(np.abs(x) + step_x, np.abs(w) + step_w, b, **case.geometry)
        return float(np.sum(scale * np.abs(dy)))

    for name, gradient, operand, as_function, steps in (
        ("dx", dx, x, lambda points: forward([(v, w, b) for v in points]), (1.0, 0.0)),
        ("dw", dw, w, lambda points: forward([(x, v, b) for v in points]), (0.0, 1.0)),
    ):
        scale = magnitude(*steps)
        if operand.size <= finite_differences.FULL_JACOBIAN_LIMIT:
            numerical = finite_differences.numerical_gradient(as_function, operand, dy, eps=1.0)
            evidence.require(
                compare(
                    gradient,
                    numerical,
                    scale=scale,
                    rtol=tolerance,
                    name=f"{name} vs finite differences",
                ),
                inputs={"x": x, "w": w, "dy": dy},
            )
            continue
        for _ in range(finite_differences.PROJECTIONS):
            direction = rng.choice([-1.0, 1.0], size=operand.shape).astype(case.dtype)
            slope = finite_differences.directional_derivative(
                as_function, operand, dy, direction, eps=1.0
            )
            analytic = float(np.vdot(np.asarray(gradient, np.float64), direction))
            evidence.require(
                compare(
                    np.array(analytic),
                    np.array(slope),
                    scale=scale,
                    rtol=tolerance,
                    name=f"<{name}, v> vs finite differences along a random sign vector v",
                )
            )


@claim(
    "conv_transpose2d_backward.adjointness",
    summary="The gradients are the adjoints of the forward: <conv_transpose2d(x, w), g> = <x, dX(g)> = <w, dW(g)>.",
    formula="<conv_transpose2d(X, W), G> = <X, dX(G)> = <W, dW(G)>",
    cases=_cases(),
    calls=("conv_transpose2d",),
)
def backward_adjointness(candidate: Candidate, case: ConvTransposeCase, evidence: Evidence) -> None:
    """<f(x, w), g> = <x, dX(g)> = <w, dW(g)>: the transposed convolution is bilinear."""
    x, w, _, g = case.arrays()
    (y,) = trusted_forward(candidate, case)([(x, w, None)])
    dx, dw, _ = _call_backward(candidate, case, g, x, w, None)
    x64, w64, g64 = as_float64(x, w, g)
    output_side = float(np.vdot(np.asarray(y, dtype=np.float64), g64))
    scale = float(np.sum(conv_transpose2d_scale(x64, w64, None, **case.geometry) * np.abs(g64)))
    rtol = summation_rtol(case.dtype, max(_terms(case).values()), g.size)
    for label, value in (("<x, dX(g)>", np.vdot(x64, dx)), ("<w, dW(g)>", np.vdot(w64, dw))):
        evidence.require(
            compare(
                np.array(float(value)),
                np.array(output_side),
                scale=scale,
                rtol=rtol,
                name=f"{label} against <conv_transpose2d(x, w), g>",
            )
        )


@claim(
    "conv_transpose2d_backward.matches_torch",
    summary="dx, dw and db agree with PyTorch autograd.",
    formula=BACKWARD,
    cases=_cases(),
    needs_torch=True,
)
def backward_matches_torch(candidate, case, evidence):
    check_backward_matches(candidate, case, evidence, torch_oracle.conv_transpose2d_backward)


@claim(
    "conv_transpose2d_backward.contract",
    summary="conv_transpose2d_backward returns new arrays (db None without b) of the right shapes and dtype, finite for finite inputs, deterministic, zero for zero dy, and leaves its inputs alone (dy with NaN and inf included).",
    formula="dtype = result_type(dY, X, W, b)",
    cases=_cases(dy_values=DY_VALUES),
)
def backward_contract(candidate: Candidate, case: ConvTransposeCase, evidence: Evidence) -> None:
    x, w, b, dy = case.arrays()
    shapes = (case.x_shape, case.w_shape, None if b is None else (case.out_channels,))
    gradients = contract.call_and_check(
        candidate,
        "conv_transpose2d_backward",
        *case.spell(dy, x, w, b),
        names=GRADIENTS,
        shapes=shapes,
        dtype=common_dtype(dy, x, w, b),
    )
    if case.dy_values == "finite":
        contract.require_finite(gradients, "conv_transpose2d_backward", "finite inputs")
    contract.require_zero_gradients(
        candidate, "conv_transpose2d_backward", *case.spell(np.zeros_like(dy), x, w, b), GRADIENTS
    )
