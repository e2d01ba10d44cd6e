"""The properties of avg_pool2d and avg_pool2d_backward, each registered where its check is defined.

avg_pool2d is linear in x: each output is a sum of inputs times 1/divisor.
So its tolerances are those of a sum (the scale is the op applied to |x|, or
the backward to |dY|), central finite differences are exact for any step,
and the backward is the forward's adjoint.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ... import reference
from ...oracles import finite_differences
from ...properties import base, contract
from ...properties.base import Candidate, Evidence, claim, expect_array
from ...properties.compare import as_float64, compare, rtol_for, summation_rtol
from ...strategies import DY_VALUES, SIZE_CLASSES
from ..arguments import common_dtype
from . import torch_oracle
from .cases import X_VALUES, AvgPoolCase, avg_pool_cases
from .hints import backward_hints, forward_hints, shape_hints
from .scales import avg_pool2d_backward_scale, avg_pool2d_scale


def _cases(dy_values=("finite",), x_values=("finite",)):
    def cases(
        dtype: str | None,
        unsupported: frozenset[str],
        windows: str = "partial",
        sizes=SIZE_CLASSES,
    ):
        return avg_pool_cases(
            dtype=dtype,
            unsupported=unsupported,
            windows=windows,
            dy_values=dy_values,
            sizes=sizes,
            x_values=x_values,
        )

    return cases


def _terms(case: AvgPoolCase) -> int:
    """How many terms an output (a window's sum, then a division) or an element of dx (a share
    from each window that reads it) adds up: sets the float32 tolerance."""
    kh, kw = case.kernel_size
    return kh * kw + 1


def forward_scale(case: AvgPoolCase, x64: np.ndarray) -> np.ndarray:
    """The magnitude of the terms each output sums: avg_pool2d(|x|)."""
    return avg_pool2d_scale(x64, **case.geometry)


def backward_scale(case: AvgPoolCase, dy64: np.ndarray, x64: np.ndarray) -> np.ndarray:
    return avg_pool2d_backward_scale(dy64, x64, **case.geometry)


FORWARD = (
    "Y[n,c,p,q] = sum over (i,j) with (p*s + i - pad, q*s + j - pad) in x of "
    "X[n, c, p*s + i - pad, q*s + j - pad] / divisor(p, q)"
)
DIVISORS = (
    "divisor = divisor_override, else the window's positions inside the padded input "
    "(count_include_pad), else its elements inside x"
)
BACKWARD = "dX[u,v] = sum over the windows (p,q) that read (u,v) of dY[p,q] / divisor(p, q)"


# ---------------------------------------------------------------- avg_pool2d


def _call_forward(candidate: Candidate, case: AvgPoolCase, x) -> np.ndarray:
    args, kwargs = case.spell(x)
    return _expect_y(case, candidate.call("avg_pool2d", *args, **kwargs))


def _expect_y(case: AvgPoolCase, result) -> np.ndarray:
    return expect_array(
        result,
        function="avg_pool2d",
        name="y",
        shape=case.y_shape,
        hints=lambda wrong: shape_hints(case, wrong),
    )


def check_forward_matches(
    candidate: Candidate, case: AvgPoolCase, evidence: Evidence, oracle
) -> None:
    x, _ = case.arrays()
    y = _call_forward(candidate, case, x)
    (x64,) = as_float64(x)
    expected = oracle(x64, **case.geometry)
    scale = forward_scale(case, x64)
    comparison = compare(
        y, expected, scale=scale, rtol=rtol_for(case.dtype, _terms(case)), name="y"
    )
    evidence.require(
        comparison, partial(forward_hints, case, x64, expected, y, scale), inputs={"x": x}
    )


@claim(
    "avg_pool2d.matches_reference",
    summary="avg_pool2d agrees with cnnref's reference element by element: padding, ceil_mode's last window, count_include_pad and divisor_override included, and NaN and inf in x reach only the windows that hold them.",
    formula=f"{FORWARD};  {DIVISORS}",
    cases=_cases(x_values=X_VALUES),
)
def forward_matches_reference(candidate, case, evidence):
    check_forward_matches(candidate, case, evidence, reference.avg_pool2d)


def trusted_forward(candidate: Candidate, case: AvgPoolCase):
    """The candidate's own avg_pool2d once it matches the reference here (base.trusted_forward);
    ``forward(xs)`` pools each x in a list."""
    forward = base.trusted_forward(
        candidate,
        case,
        "avg_pool2d",
        judge=lambda: forward_matches_reference(candidate, case, Evidence()),
        reference=partial(reference.avg_pool2d, **case.geometry),
        expect=partial(_expect_y, case),
    )
    return lambda xs: forward([(x,) for x in xs])


@claim(
    "avg_pool2d.matches_torch",
    summary="avg_pool2d agrees with torch.nn.functional.avg_pool2d, NaN and inf included.",
    formula=FORWARD,
    cases=_cases(x_values=X_VALUES),
    needs_torch=True,
)
def forward_matches_torch(candidate, case, evidence):
    check_forward_matches(candidate, case, evidence, torch_oracle.avg_pool2d_forward)


@claim(
    "avg_pool2d.contract",
    summary="avg_pool2d returns a new ndarray of the right shape and dtype, finite for finite inputs, the same on every call, and leaves its input alone (x with NaN and inf included).",
    formula="dtype(Y) = dtype(X)",
    cases=_cases(x_values=X_VALUES),
)
def forward_contract(candidate: Candidate, case: AvgPoolCase, evidence: Evidence) -> None:
    x, _ = case.arrays()
    outputs = contract.call_and_check(
        candidate,
        "avg_pool2d",
        *case.spell(x),
        names=("y",),
        shapes=(case.y_shape,),
        dtype=x.dtype,
    )
    if case.x_values == "finite":
        contract.require_finite(outputs, "avg_pool2d", "finite inputs")


# ---------------------------------------------------------------- avg_pool2d_backward


def _call_backward(candidate: Candidate, case: AvgPoolCase, dy, x) -> np.ndarray:
    args, kwargs = case.spell(dy, x)
    result = candidate.call("avg_pool2d_backward", *args, **kwargs)
    return expect_array(result, function="avg_pool2d_backward", name="dx", shape=case.x_shape)


def check_backward_matches(
    candidate: Candidate, case: AvgPoolCase, evidence: Evidence, oracle
) -> None:
    x, dy = case.arrays()
    dx = _call_backward(candidate, case, dy, x)
    x64, dy64 = as_float64(x, dy)
    expected = oracle(dy64, x64)
    scale = backward_scale(case, dy64, x64)
    comparison = compare(
        dx, expected, scale=scale, rtol=rtol_for(case.dtype, _terms(case)), name="dx"
    )
    evidence.require(
        comparison,
        partial(backward_hints, case, x64, dy64, expected, dx, scale),
        inputs={"x": x, "dy": dy},
    )


@claim(
    "avg_pool2d_backward.matches_reference",
    summary="dx agrees with cnnref's reference: each window's dY / divisor added to every element it read (NaN and inf in dy reach only those).",
    formula=f"{BACKWARD};  {DIVISORS}",
    cases=_cases(dy_values=DY_VALUES),
)
def backward_matches_reference(candidate, case, evidence):
    check_backward_matches(
        candidate,
        case,
        evidence,
        lambda dy, x: reference.avg_pool2d_backward(dy, x, **case.geometry),
    )


@claim(
    "avg_pool2d_backward.finite_differences",
    summary="dx agrees with central finite differences of the candidate's own avg_pool2d (the reference's if it has none), on examples where that avg_pool2d matches the reference: full Jacobians on small shapes, random sign projections on large ones.",
    formula="<dL/dX, v> = d/dt <avg_pool2d(X + t v), dY>",
    cases=_cases(),
    calls=("avg_pool2d",),
)
def backward_finite_differences(
    candidate: Candidate, case: AvgPoolCase, evidence: Evidence
) -> None:
    """dx against central differences of the forward.

    avg_pool2d is linear in x, so a central difference is exact for any step:
    a unit step keeps the rounding error smallest.
    """
    x, dy = case.arrays()
    forward = trusted_forward(candidate, case)
    dx = _call_backward(candidate, case, dy, x)
    x64, dy64 = as_float64(x, dy)
    # The stepped inputs are at most |x| + 1: the magnitude of what the losses sum.
    scale = float(np.sum(np.abs(forward_scale(case, np.abs(x64) + 1.0)) * np.abs(dy64)))
    rtol = summation_rtol(case.dtype, _terms(case), dy.size)
    if x.size <= finite_differences.FULL_JACOBIAN_LIMIT:
        numerical = finite_differences.numerical_gradient(forward, x, dy, eps=1.0)
        evidence.require(
            compare(dx, numerical, scale=scale, rtol=rtol, name="dx vs finite differences"),
            inputs={"x": x, "dy": dy},
        )
        return
    rng = np.random.default_rng(case.seed + 1)
    for _ in range(finite_differences.PROJECTIONS):
        direction = rng.choice([-1.0, 1.0], size=x.shape).astype(case.dtype)
        slope = finite_differences.directional_derivative(forward, x, dy, direction, eps=1.0)
        analytic = float(np.vdot(np.asarray(dx, np.float64), direction))
        evidence.require(
            compare(
                np.array(analytic),
                np.array(slope),
                scale=scale,
                rtol=rtol,
                name="<dx, v> vs finite differences along a random sign vector v",
            )
        )


@claim(
    "avg_pool2d_backward.adjointness",
    summary="The gradient is the adjoint of the forward: <avg_pool2d(x), g> = <x, dX(g)>.",
    formula="<avg_pool2d(X), G> = <X, dX(G)>",
    cases=_cases(),
    calls=("avg_pool2d",),
)
def backward_adjointness(candidate: Candidate, case: AvgPoolCase, evidence: Evidence) -> None:
    """<avg_pool2d(x), g> = <x, dX(g)>: avg_pool2d is linear in x."""
    x, g = case.arrays()
    (y,) = trusted_forward(candidate, case)([x])
    dx = _call_backward(candidate, case, g, x)
    x64, g64, y64, dx64 = as_float64(x, g, y, dx)
    scale = float(np.sum(np.abs(forward_scale(case, x64)) * np.abs(g64)))
    evidence.require(
        compare(
            np.array(float(np.vdot(x64, dx64))),
            np.array(float(np.vdot(y64, g64))),
            scale=scale,
            rtol=summation_rtol(case.dtype, _terms(case), g.size),
            name="<x, dX(g)> against <avg_pool2d(x), g>",
        )
    )


@claim(
    "avg_pool2d_backward.matches_torch",
    summary="dx agrees with PyTorch autograd.",
    formula=BACKWARD,
    cases=_cases(dy_values=DY_VALUES),
    needs_torch=True,
)
def backward_matches_torch(candidate, case, evidence):
    check_backward_matches(
        candidate,
        case,
        evidence,
        lambda dy, x: torch_oracle.avg_pool2d_with_gradients(x, dy, **case.geometry)[1],
    )


@claim(
    "avg_pool2d_backward.contract",
    summary="avg_pool2d_backward returns a new ndarray of x's shape and the right dtype, finite for a finite dy, deterministic, zero for zero dy, and leaves its inputs alone (dy with NaN and inf included).",
    formula="dtype(dX) = result_type(dY, X)",
    cases=_cases(dy_values=DY_VALUES),
)
def backward_contract(candidate: Candidate, case: AvgPoolCase, evidence: Evidence) -> None:
    x, dy = case.arrays()
    (dx,) = contract.call_and_check(
        candidate,
        "avg_pool2d_backward",
        *case.spell(dy, x),
        names=("dx",),
        shapes=(case.x_shape,),
        dtype=common_dtype(dy, x),
    )
    if case.dy_values == "finite":
        contract.require_finite([dx], "avg_pool2d_backward", "a finite dy")
    contract.require_zero_gradients(
        candidate, "avg_pool2d_backward", *case.spell(np.zeros_like(dy), x), ("dx",)
    )
