"""The properties of conv2d and conv2d_backward, each registered where its check is defined."""

from __future__ import annotations

from dataclasses import replace
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
from ...properties.compare import as_float64, compare, normwise_tolerance, rtol_for, summation_rtol
from ...strategies import DY_VALUES, SIZE_CLASSES
from ..arguments import common_dtype
from . import scipy_oracle, torch_oracle
from .cases import ConvCase, conv_cases
from .hints import backward_hints, forward_hints, shape_hints
from .scales import (
    conv2d_backward_norm_scales,
    conv2d_backward_scales,
    conv2d_norm_scale,
    conv2d_scale,
)

GRADIENTS = ("dx", "dw", "db")


def summed_terms(case: ConvCase) -> dict[str, int]:
    """How many products each output element sums: sets the float32 tolerance."""
    kh, kw = case.kernel_size
    oh, ow = case.y_shape[-2:]
    return {
        "y": case.in_channels // case.groups * kh * kw + 1,
        "dx": case.out_channels // case.groups * kh * kw,
        "dw": case.batch * oh * ow,
        "db": case.batch * oh * ow,
    }


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


def _weighted_normwise(normwise: np.ndarray, weights: np.ndarray) -> float:
    """A bound on |sum_i error_i * weights_i| when each plane's errors are within ``normwise``."""
    plane_sums = np.sum(np.abs(np.asarray(weights, np.float64)), axis=(-2, -1), keepdims=True)
    return float(np.sum(normwise * plane_sums))


def _cases(dy_values=("finite",), **fixed):
    def cases(
        dtype: str | None,
        unsupported: frozenset[str],
        windows: str = "partial",
        sizes=SIZE_CLASSES,
    ):
        strategy = conv_cases(
            dtype=dtype, unsupported=unsupported, dy_values=dy_values, sizes=sizes, windows=windows
        )
        return strategy.map(lambda case: _replace(case, **fixed)) if fixed else strategy

    return cases


def _replace(case: ConvCase, **fields) -> ConvCase:
    if fields.get("bias"):  # a bias given cannot be left out
        fields["omitted"] = tuple(name for name in case.omitted if name != "b")
    return replace(case, **fields)


FORWARD = (
    "Y[n,o,p,q] = b[o] + sum_{c,i,j} X[n, g*C/G + c, p*s + i*d - pad, q*s + j*d - pad] W[o,c,i,j]"
)
BACKWARD = (
    "dW = Xpad (*) dY (valid correlation, batch summed);  "
    "dX = crop(pad(spread_s(dY)) (*) rot180(W^T));  db = sum_{n,p,q} dY"
)


# ---------------------------------------------------------------- conv2d


def _call_forward(candidate: Candidate, case: ConvCase, x, w, b) -> np.ndarray:
    args, kwargs = case.spell(x, w, b)
    return _expect_y(case, candidate.call("conv2d", *args, **kwargs))


def _expect_y(case: ConvCase, result) -> np.ndarray:
    return expect_array(
        result,
        function="conv2d",
        name="y",
        shape=case.y_shape,
        hints=lambda wrong: shape_hints(case, wrong),
    )


def check_forward_matches(candidate: Candidate, case: ConvCase, evidence: Evidence, oracle) -> None:
    x, w, b, _ = case.arrays()
    y = _call_forward(candidate, case, x, w, b)
    x64, w64, b64 = as_float64(x, w, b)
    scale = conv2d_scale(x64, w64, b64, **case.geometry)
    expected = oracle(x64, w64, b64, **case.geometry)
    comparison = compare(
        y,
        expected,
        scale=scale,
        rtol=rtol_for(case.dtype, summed_terms(case)["y"]),
        name="y",
        normwise=forward_normwise(case, x64, w64),
    )
    evidence.require(
        comparison,
        partial(forward_hints, case, x64, w64, b64, expected, y, scale),
        inputs={"x": x, "w": w, "b": b},
    )


@claim(
    "conv2d.matches_reference",
    summary="conv2d agrees with cnnref's reference element by element.",
    formula=FORWARD,
    cases=_cases(),
)
def forward_matches_reference(candidate, case, evidence):
    check_forward_matches(candidate, case, evidence, reference.conv2d)


def trusted_forward(candidate: Candidate, case: ConvCase):
    """The candidate's own conv2d once it matches the reference here (base.trusted_forward)."""
    return base.trusted_forward(
        candidate,
        case,
        "conv2d",
        judge=lambda: forward_matches_reference(candidate, case, Evidence()),
        reference=partial(reference.conv2d, **case.geometry),
        expect=partial(_expect_y, case),
    )


@claim(
    "conv2d.matches_scipy",
    summary="conv2d agrees with scipy.signal.correlate, image by image and channel by channel.",
    formula=FORWARD,
    cases=_cases(),
)
def forward_matches_scipy(candidate, case, evidence):
    check_forward_matches(candidate, case, evidence, scipy_oracle.conv2d_forward)


@claim(
    "conv2d.matches_torch",
    summary="conv2d agrees with torch.nn.functional.conv2d.",
    formula=FORWARD,
    cases=_cases(),
    needs_torch=True,
)
def forward_matches_torch(candidate, case, evidence):
    check_forward_matches(candidate, case, evidence, torch_oracle.conv2d_forward)


@claim(
    "conv2d.bias_linearity",
    summary="The bias adds b[o] to every output of channel o, and nothing else.",
    formula="conv2d(x, w, b) - conv2d(x, w, None) = b[o]",
    cases=_cases(bias=True),
)
def bias_is_added_per_channel(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    """conv2d(x, w, b) - conv2d(x, w, None) = b[o] at every output of channel o."""
    x, w, b, _ = case.arrays()
    with_bias = _call_forward(candidate, case, x, w, b)
    without = _call_forward(candidate, case, x, w, None)
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


@claim(
    "conv2d.contract",
    summary="conv2d returns a new ndarray of the right shape and dtype, finite, the same on every call, and leaves its inputs alone.",
    formula="dtype(Y) = result_type(X, W, b)",
    cases=_cases(),
)
def forward_contract(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    x, w, b, _ = case.arrays()
    outputs = contract.call_and_check(
        candidate,
        "conv2d",
        *case.spell(x, w, b),
        names=("y",),
        shapes=(case.y_shape,),
        dtype=common_dtype(x, w, b),
    )
    contract.require_finite(outputs, "conv2d", "finite inputs")


# ---------------------------------------------------------------- conv2d_backward


def _call_backward(candidate: Candidate, case: ConvCase, dy, x, w, b) -> tuple:
    args, kwargs = case.spell(dy, x, w, b)
    result = unpack(
        candidate.call("conv2d_backward", *args, **kwargs),
        function="conv2d_backward",
        names=GRADIENTS,
    )
    dx = expect_array(result[0], function="conv2d_backward", name="dx", shape=case.x_shape)
    dw = expect_array(result[1], function="conv2d_backward", name="dw", shape=case.w_shape)
    if b is None:
        if result[2] is not None:
            raise Falsified(
                f"conv2d_backward returned db={type_name(result[2])} for b=None; expected None"
            )
        return dx, dw, None
    return (
        dx,
        dw,
        expect_array(result[2], function="conv2d_backward", name="db", shape=(case.out_channels,)),
    )


def check_backward_matches(
    candidate: Candidate, case: ConvCase, evidence: Evidence, oracle
) -> None:
    x, w, b, dy = case.arrays()
    actual = _call_backward(candidate, case, dy, x, w, b)
    x64, w64, b64, dy64 = as_float64(x, w, b, dy)
    expected = oracle(dy64, x64, w64, b64, **case.geometry)
    scales = conv2d_backward_scales(dy64, x64, w64, b64, **case.geometry)
    normwise = backward_normwise(case, dy64, x64, w64)
    terms = summed_terms(case)
    for name, got, want, scale in zip(GRADIENTS, actual, expected, scales):
        if got is None:
            continue
        comparison = compare(
            got,
            want,
            scale=scale,
            rtol=rtol_for(case.dtype, terms[name]),
            name=name,
            normwise=normwise[name],
        )
        evidence.require(
            comparison,
            partial(backward_hints, case, name, x64, w64, dy64, want, got, scale),
            inputs={"dy": dy, "x": x, "w": w},
        )


@claim(
    "conv2d_backward.matches_reference",
    summary="dx, dw and db agree with cnnref's reference element by element.",
    formula=BACKWARD,
    cases=_cases(),
)
def backward_matches_reference(candidate, case, evidence):
    check_backward_matches(candidate, case, evidence, reference.conv2d_backward)


@claim(
    "conv2d_backward.finite_differences",
    summary="dx and dw agree with central finite differences of the candidate's own conv2d (the reference's if it has none), on examples where that conv2d matches the reference: full Jacobians on small shapes, random sign projections on large ones.",
    formula="<dL/dX, v> = d/dt <conv2d(X + t v, W), dY>",
    cases=_cases(),
    calls=("conv2d",),
)
def backward_finite_differences(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    """dx and dw against central differences of the forward.

    conv2d is linear in x and in w, so a central difference is exact for any
    step: a unit step keeps the rounding error smallest.
    """
    x, w, b, dy = case.arrays()
    forward = trusted_forward(candidate, case)
    dx, dw, _ = _call_backward(candidate, case, dy, x, w, b)
    tolerance = summation_rtol(case.dtype, max(summed_terms(case).values()), dy.size)
    rng = np.random.default_rng(case.seed + 1)
    x64, w64, dy64 = as_float64(x, w, dy)
    gradient_normwise = backward_normwise(case, dy64, x64, w64)

    def magnitude(step_x=0.0, step_w=0.0):
        scale = conv2d_scale(
            *as_float64(np.abs(x) + step_x, np.abs(w) + step_w, b), **case.geometry
        )
        return float(np.sum(scale * np.abs(dy)))

    def forward_normwise_at(step_x=0.0, step_w=0.0) -> float:
        """What FFT or Winograd rounding in the stepped forwards may add to a difference."""
        stepped = forward_normwise(case, np.abs(x64) + step_x, np.abs(w64) + step_w)
        return _weighted_normwise(stepped, dy64)

    for name, gradient, operand, as_function in (
        ("dx", dx, x, lambda points: forward([(v, w, b) for v in points])),
        ("dw", dw, w, lambda points: forward([(x, v, b) for v in points])),
    ):
        steps = (1.0, 0.0) if name == "dx" else (0.0, 1.0)
        scale = magnitude(*steps)
        numerical_normwise = forward_normwise_at(*steps)
        if operand.size <= finite_differences.FULL_JACOBIAN_LIMIT:
            numerical = finite_differences.numerical_gradient(as_function, operand, dy, eps=1.0)
            evidence.require(
                compare(
                    gradient,
                    numerical,
                    scale=scale,
                    rtol=tolerance,
                    name=f"{name} vs finite differences",
                    normwise=numerical_normwise + gradient_normwise[name],
                ),
                inputs={"x": x, "w": w, "dy": dy},
            )
            continue
        for _ in range(finite_differences.PROJECTIONS):
            direction = rng.choice([-1.0, 1.0], size=operand.shape).astype(case.dtype)
            numerical = finite_differences.directional_derivative(
                as_function, operand, dy, direction, eps=1.0
            )
            analytic = float(np.vdot(np.asarray(gradient, np.float64), direction))
            evidence.require(
                compare(
                    np.array(analytic),
                    np.array(numerical),
                    scale=scale,
                    rtol=tolerance,
                    name=f"<{name}, v> vs finite differences along a random sign vector v",
                    normwise=numerical_normwise
                    + _weighted_normwise(gradient_normwise[name], direction),
                )
            )


@claim(
    "conv2d_backward.adjointness",
    summary="The gradients are the adjoints of the forward: <conv2d(x, w), g> = <x, dX(g)> = <w, dW(g)>.",
    formula="<conv2d(X, W), G> = <X, dX(G)> = <W, dW(G)>",
    cases=_cases(),
    calls=("conv2d",),
)
def backward_adjointness(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    """<conv2d(x, w), g> = <x, dX(g)> = <w, dW(g)>: conv2d is bilinear."""
    x, w, _, g = case.arrays()
    (y,) = trusted_forward(candidate, case)([(x, w, None)])
    y = np.asarray(y, dtype=np.float64)
    dx, dw, _ = _call_backward(candidate, case, g, x, w, None)
    x64, w64, g64 = as_float64(x, w, g)
    output_side = float(np.vdot(y, g64))
    scale = float(np.sum(conv2d_scale(x64, w64, None, **case.geometry) * np.abs(g64)))
    rtol = summation_rtol(case.dtype, max(summed_terms(case).values()), g.size)
    # What FFT or Winograd rounding may add to each inner product.
    output_normwise = _weighted_normwise(forward_normwise(case, x64, w64), g64)
    gradient_normwise = backward_normwise(case, g64, x64, w64)
    for label, value, operand, name in (
        ("<x, dX(g)>", np.vdot(x64, dx), x64, "dx"),
        ("<w, dW(g)>", np.vdot(w64, dw), w64, "dw"),
    ):
        evidence.require(
            compare(
                np.array(float(value)),
                np.array(output_side),
                scale=scale,
                rtol=rtol,
                name=f"{label} against <conv2d(x, w), g>",
                normwise=output_normwise + _weighted_normwise(gradient_normwise[name], operand),
            )
        )


@claim(
    "conv2d_backward.matches_torch",
    summary="dx, dw and db agree with PyTorch autograd.",
    formula=BACKWARD,
    cases=_cases(),
    needs_torch=True,
)
def backward_matches_torch(candidate, case, evidence):
    def torch_backward(dy, x, w, b, **geometry):
        return torch_oracle.conv2d_with_gradients(x, w, b, dy, **geometry)[1:]

    check_backward_matches(candidate, case, evidence, torch_backward)


@claim(
    "conv2d_backward.contract",
    summary="conv2d_backward returns new arrays (db None without b) of the right shapes and dtype, finite for finite inputs, deterministic, zero for zero dy, and leaves its inputs alone (dy with NaN and inf included).",
    formula="dtype = result_type(dY, X, W, b)",
    cases=_cases(dy_values=DY_VALUES),
)
def backward_contract(candidate: Candidate, case: ConvCase, evidence: Evidence) -> None:
    x, w, b, dy = case.arrays()
    shapes = (case.x_shape, case.w_shape, None if b is None else (case.out_channels,))
    gradients = contract.call_and_check(
        candidate,
        "conv2d_backward",
        *case.spell(dy, x, w, b),
        names=GRADIENTS,
        shapes=shapes,
        dtype=common_dtype(dy, x, w, b),
    )
    if case.dy_values == "finite":
        contract.require_finite(gradients, "conv2d_backward", "finite inputs")
    contract.require_zero_gradients(
        candidate, "conv2d_backward", *case.spell(np.zeros_like(dy), x, w, b), GRADIENTS
    )
