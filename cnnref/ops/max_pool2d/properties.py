"""Properties of max_pool2d and max_pool2d_backward."""

from __future__ import annotations

from functools import partial

import numpy as np

from ... import reference
from ...declarations import NOTHING_DECLARED, PYTORCH_CONVENTIONS, Conventions
from ...oracles import finite_differences
from ...properties import base, contract
from ...properties.base import Candidate, Evidence, Falsified, NotChecked, claim, expect_array
from ...properties.compare import compare, rtol_for, summation_rtol
from ...properties.hints import where_gradient_went
from ...strategies import DY_VALUES, SIZE_CLASSES
from ...strategies.layouts import with_layout
from ..arguments import common_dtype
from . import torch_oracle
from .cases import DISTINCT_SPACING, POOL_VALUES, PoolCase, pool_cases
from .hints import backward_hints, forward_hints, shape_hints
from .scales import max_pool2d_backward_scale
from .windows import maxima_positions, share_kept

# Finite-difference step: far below the gap between distinct inputs, so no argmax moves,
# and a power of two, so x +- step is exact in float32 and float64.
FD_STEP = DISTINCT_SPACING / 8


def conventions_of(candidate: Candidate, function: str) -> Conventions:
    """The conventions ``candidate`` declares for ``function`` (PyTorch's if it declares none)."""
    return getattr(candidate, "declarations", NOTHING_DECLARED).conventions_for(function)


def reference_forward(x: np.ndarray, case: PoolCase, conventions: Conventions) -> np.ndarray:
    return reference.max_pool2d(x, **case.geometry, **conventions.reference_options("max_pool2d"))


def reference_backward(dy, x, case: PoolCase, conventions: Conventions) -> np.ndarray:
    options = conventions.reference_options("max_pool2d_backward")
    return reference.max_pool2d_backward(dy, x, **case.geometry, **options)


def require_pytorch_conventions(candidate: Candidate, function: str) -> None:
    """NotChecked where the candidate declares conventions PyTorch does not follow."""
    reason = conventions_of(candidate, function).pytorch_cannot_judge(function)
    if reason:
        raise NotChecked(reason)


def _cases(values=POOL_VALUES, dy_values=("finite",)):
    def cases(
        dtype: str | None,
        unsupported: frozenset[str],
        windows: str = "partial",
        sizes=SIZE_CLASSES,
    ):
        return pool_cases(
            dtype=dtype,
            unsupported=unsupported,
            values=values,
            windows=windows,
            dy_values=dy_values,
            sizes=sizes,
        )

    return cases


FORWARD = "Y[n,c,p,q] = max over in-bounds (i,j) of X[n, c, p*s + i*d - pad, q*s + j*d - pad]"
BACKWARD = "dX[u,v] = sum of dY over the windows that route to (u,v): first strict maximum, last NaN, first in-bounds if all -inf"


# ---------------------------------------------------------------- max_pool2d


def _call_forward(candidate: Candidate, case: PoolCase, x) -> np.ndarray:
    args, kwargs = case.spell(x)
    return _expect_y(case, candidate.call("max_pool2d", *args, **kwargs))


def _expect_y(case: PoolCase, result) -> np.ndarray:
    return expect_array(
        result,
        function="max_pool2d",
        name="y",
        shape=case.y_shape,
        hints=lambda wrong: shape_hints(case, wrong),
    )


def check_forward_matches(
    candidate: Candidate,
    case: PoolCase,
    evidence: Evidence,
    oracle,
    conventions: Conventions = PYTORCH_CONVENTIONS,
    x: np.ndarray | None = None,
) -> None:
    """``x``: the input, if not the case's own."""
    x = case.arrays().x if x is None else x
    y = _call_forward(candidate, case, x)
    x64 = np.asarray(x, dtype=np.float64)
    # A maximum selects an element: it must be exact, NaN included.
    expected = oracle(x64)
    comparison = compare(y, expected, scale=0.0, rtol=0.0, name="y")
    evidence.require(
        comparison, partial(forward_hints, case, x64, expected, y, conventions), inputs={"x": x}
    )


@claim(
    "max_pool2d.matches_reference",
    summary="max_pool2d agrees exactly with cnnref's reference, NaN and -inf included.",
    formula=FORWARD,
    cases=_cases(),
)
def forward_matches_reference(candidate, case, evidence):
    conventions = conventions_of(candidate, "max_pool2d")
    check_forward_matches(
        candidate, case, evidence, lambda x: reference_forward(x, case, conventions), conventions
    )


def trusted_forward(candidate: Candidate, case: PoolCase, x: np.ndarray | None = None):
    """The candidate's own max_pool2d once it matches the reference exactly here, on ``x`` if
    given (base.trusted_forward); ``forward(xs)`` pools each x in a list."""
    conventions = conventions_of(candidate, "max_pool2d")
    forward = base.trusted_forward(
        candidate,
        case,
        "max_pool2d",
        judge=lambda: check_forward_matches(
            candidate,
            case,
            Evidence(),
            lambda x: reference_forward(x, case, conventions),
            conventions,
            x=x,
        ),
        # Without its own forward, the backward's conventions say what it pools.
        reference=lambda x: reference_forward(
            x, case, conventions_of(candidate, "max_pool2d_backward")
        ),
        expect=partial(_expect_y, case),
    )
    return lambda xs: forward([(x,) for x in xs])


@claim(
    "max_pool2d.matches_torch",
    summary="max_pool2d agrees exactly with torch.nn.functional.max_pool2d.",
    formula=FORWARD,
    cases=_cases(),
    needs_torch=True,
)
def forward_matches_torch(candidate, case, evidence):
    require_pytorch_conventions(candidate, "max_pool2d")
    check_forward_matches(
        candidate,
        case,
        evidence,
        lambda x: torch_oracle.max_pool2d_forward(x, **case.geometry),
    )


@claim(
    "max_pool2d.contract",
    summary="max_pool2d returns a new ndarray of the right shape and dtype, NaN only where a window holds NaN, the same on every call, and leaves its input alone.",
    formula="dtype(Y) = dtype(X)",
    cases=_cases(),
)
def forward_contract(candidate: Candidate, case: PoolCase, evidence: Evidence) -> None:
    x, _ = case.arrays()
    (y,) = contract.call_and_check(
        candidate,
        "max_pool2d",
        *case.spell(x),
        names=("y",),
        shapes=(case.y_shape,),
        dtype=x.dtype,
    )
    nan_windows = np.isnan(reference_forward(x, case, conventions_of(candidate, "max_pool2d")))
    stray = np.isnan(y) & ~nan_windows
    if stray.any():
        index = tuple(int(i) for i in np.argwhere(stray)[0])
        raise Falsified(f"max_pool2d returned NaN at {list(index)}, whose window holds no NaN")


# ---------------------------------------------------------------- max_pool2d_backward


def _call_backward(candidate: Candidate, case: PoolCase, dy, x) -> np.ndarray:
    args, kwargs = case.spell(dy, x)
    result = candidate.call("max_pool2d_backward", *args, **kwargs)
    return expect_array(result, function="max_pool2d_backward", name="dx", shape=case.x_shape)


def check_backward_matches(
    candidate: Candidate,
    case: PoolCase,
    evidence: Evidence,
    oracle,
    conventions: Conventions = PYTORCH_CONVENTIONS,
) -> None:
    x, dy = case.arrays()
    dx = _call_backward(candidate, case, dy, x)
    x64, dy64 = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    options = conventions.reference_options("max_pool2d_backward")
    scale = max_pool2d_backward_scale(dy64, x64, **case.geometry, **options)
    terms = int(np.prod(case.kernel_size))  # windows that can overlap one input
    expected = oracle(dy64, x64)
    comparison = compare(dx, expected, scale=scale, rtol=rtol_for(case.dtype, terms), name="dx")
    evidence.require(
        comparison,
        partial(backward_hints, case, x64, expected, dx, scale, conventions, dy=dy64),
        inputs={"x": x, "dy": dy},
    )


@claim(
    "max_pool2d_backward.matches_reference",
    summary="dx agrees with cnnref's reference: ties, NaN and -inf routed as PyTorch does, overlaps accumulated.",
    formula=BACKWARD,
    cases=_cases(dy_values=DY_VALUES),
)
def backward_matches_reference(candidate, case, evidence):
    conventions = conventions_of(candidate, "max_pool2d_backward")
    check_backward_matches(
        candidate,
        case,
        evidence,
        lambda dy, x: reference_backward(dy, x, case, conventions),
        conventions,
    )


@claim(
    "max_pool2d_backward.finite_differences",
    summary="On tie-free inputs dx agrees with central finite differences of the candidate's own max_pool2d (the reference's if it has none), on examples where that max_pool2d matches the reference.",
    formula="<dL/dX, v> = d/dt <max_pool2d(X + t v), dY>",
    cases=_cases(values=("distinct",)),
    calls=("max_pool2d",),
)
def backward_finite_differences(candidate: Candidate, case: PoolCase, evidence: Evidence) -> None:
    """On tie-free inputs max pooling is locally a selection, linear in x: FD is exact.

    Where padding holds zeros that compete, an input of exactly 0 would tie with
    them: the inputs are then moved half a grid step off zero, still tie-free.
    """
    conventions = conventions_of(candidate, "max_pool2d_backward")
    x, dy = case.arrays()
    if conventions.pad_value == "zeros":
        x = with_layout(x + x.dtype.type(DISTINCT_SPACING / 2), case.layout)
    pooled = trusted_forward(candidate, case, x)
    dx = _call_backward(candidate, case, dy, x)

    y = reference_forward(np.asarray(x, np.float64), case, conventions)
    dy_magnitude = float(np.sum(np.abs(np.asarray(dy, np.float64)) * (np.abs(y) + 1)))
    rtol = summation_rtol(case.dtype, int(np.prod(case.kernel_size)), dy.size) / FD_STEP
    if x.size <= finite_differences.FULL_JACOBIAN_LIMIT:
        numerical = finite_differences.numerical_gradient(pooled, x, dy, eps=FD_STEP)
        evidence.require(
            compare(dx, numerical, scale=dy_magnitude, rtol=rtol, name="dx vs finite differences"),
            inputs={"x": x, "dy": dy},
        )
        return
    rng = np.random.default_rng(case.seed + 1)
    for _ in range(finite_differences.PROJECTIONS):
        direction = rng.choice([-1.0, 1.0], size=x.shape).astype(case.dtype)
        numerical = finite_differences.directional_derivative(pooled, x, dy, direction, eps=FD_STEP)
        analytic = float(np.vdot(np.asarray(dx, np.float64), direction))
        evidence.require(
            compare(
                np.array(analytic),
                np.array(numerical),
                scale=dy_magnitude,
                rtol=rtol,
                name="<dx, v> vs finite differences along a random sign vector v",
            )
        )


@claim(
    "max_pool2d_backward.conservation_and_support",
    summary="The gradient is conserved (sum dx = sum dy) and flows only to elements that are the maximum of a window containing them.",
    formula="sum dX = sum dY;  dX[u,v] != 0  =>  X[u,v] = max of a window containing (u,v)",
    cases=_cases(),
    calls=("max_pool2d",),
)
def backward_conservation_and_support(
    candidate: Candidate, case: PoolCase, evidence: Evidence
) -> None:
    """sum(dx) = sum(dy), and dx is non-zero only where an element is its window's maximum.

    Under declared conventions, gradient routed to zero padding (or, with NaN
    ignored, by a window of NaN only) leaves the input: the sum then counts
    each window's dL/dY by the share of it that reaches the input.
    """
    conventions = conventions_of(candidate, "max_pool2d_backward")
    x, dy = case.arrays()
    trusted_forward(candidate, case)  # NotChecked where the candidate's forward is wrong here
    dx = _call_backward(candidate, case, dy, x)
    dy64 = np.asarray(dy, np.float64)
    x64 = np.asarray(x, np.float64)
    y = reference_forward(x64, case, conventions)  # the candidate's forward (checked)
    rtol = rtol_for(case.dtype, dy.size)
    total = np.array(float(np.sum(np.asarray(dx, np.float64))))
    conserved = conventions.pad_value == "-inf" and conventions.nan != "ignore"
    kept = dy64 if conserved else dy64 * share_kept(case, x64, y, conventions)
    evidence.require(
        compare(
            total,
            np.array(float(kept.sum())),
            scale=float(np.abs(dy64).sum()),
            rtol=rtol,
            name="sum(dx) against sum(dy)"
            if conserved
            else "sum(dx) against the sum of the dy that reaches the input",
        ),
        lambda _: where_gradient_went(dx, reference_backward(dy64, x64, case, conventions)),
    )
    stray = (np.asarray(dx) != 0) & ~maxima_positions(case, x64, y, conventions)
    if stray.any():
        index = tuple(int(i) for i in np.argwhere(stray)[0])
        raise Falsified(
            f"dx{list(index)} = {dx[index]!r}, but x{list(index)} = {x[index]!r} is not the maximum of any "
            "window containing it: gradient may only flow to the element a window selected",
            where_gradient_went(dx, reference_backward(dy64, x64, case, conventions)),
        )


@claim(
    "max_pool2d_backward.matches_torch",
    summary="dx agrees with PyTorch autograd.",
    formula=BACKWARD,
    cases=_cases(dy_values=DY_VALUES),
    needs_torch=True,
)
def backward_matches_torch(candidate, case, evidence):
    require_pytorch_conventions(candidate, "max_pool2d_backward")
    check_backward_matches(
        candidate,
        case,
        evidence,
        lambda dy, x: torch_oracle.max_pool2d_with_gradients(x, dy, **case.geometry)[1],
    )


@claim(
    "max_pool2d_backward.contract",
    summary="max_pool2d_backward returns a new ndarray of x's shape and the right dtype, finite for a finite dy, deterministic, zero for zero dy, and leaves its inputs alone (dy with NaN and inf included).",
    formula="dtype(dX) = result_type(dY, X)",
    cases=_cases(dy_values=DY_VALUES),
)
def backward_contract(candidate: Candidate, case: PoolCase, evidence: Evidence) -> None:
    x, dy = case.arrays()
    (dx,) = contract.call_and_check(
        candidate,
        "max_pool2d_backward",
        *case.spell(dy, x),
        names=("dx",),
        shapes=(case.x_shape,),
        dtype=common_dtype(dy, x),
    )
    if case.dy_values == "finite":
        contract.require_finite([dx], "max_pool2d_backward", "a finite dy")
    contract.require_zero_gradients(
        candidate, "max_pool2d_backward", *case.spell(np.zeros_like(dy), x), ("dx",)
    )
