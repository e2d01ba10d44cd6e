"""Properties of max_pool2d and max_pool2d_backward."""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import reference
from ..oracles import finite_differences, torch_autograd
from ..oracles.scales import max_pool2d_backward_scale
from ..reference.geometry import common_dtype
from ..strategies import PoolCase, pool_cases
from ..strategies.cases import DISTINCT_SPACING
from . import contract
from .base import Candidate, Evidence, Falsified, NotChecked, Property, expect_array
from .compare import compare, rtol_for, summation_rtol
from .pool_hints import backward_hints, forward_hints, shape_hints
from .windows import maxima_positions

# Finite-difference step: far below the gap between distinct inputs, so no argmax moves,
# and a power of two, so x +- step is exact in float32 and float64.
FD_STEP = DISTINCT_SPACING / 8


# ---------------------------------------------------------------- max_pool2d


def _call_forward(candidate: Candidate, case: PoolCase, x) -> np.ndarray:
    return _expect_y(case, candidate.call("max_pool2d", x, **case.geometry))


def _expect_y(case: PoolCase, result) -> np.ndarray:
    return expect_array(
        result,
        function="max_pool2d",
        name="y",
        shape=case.y_shape,
        hints=lambda wrong: shape_hints(case, wrong),
    )


def check_forward_matches(candidate: Candidate, case: PoolCase, evidence: Evidence, oracle) -> None:
    x, _ = case.arrays()
    y = _call_forward(candidate, case, x)
    x64 = np.asarray(x, dtype=np.float64)
    # A maximum selects an element: it must be exact, NaN included.
    expected = oracle(x64)
    comparison = compare(y, expected, scale=0.0, rtol=0.0, name="y")
    evidence.require(comparison, partial(forward_hints, case, x64, expected, y), inputs={"x": x})


def forward_matches_reference(candidate, case, evidence):
    check_forward_matches(
        candidate, case, evidence, lambda x: reference.max_pool2d(x, **case.geometry)
    )


def trusted_forward(candidate: Candidate, case: PoolCase):
    """The candidate's own max_pool2d, once it matches the reference exactly on this example.

    Finite differences and conservation judge the backward through this
    forward: where the forward is wrong, they cannot blame the backward.
    Returns ``forward(inputs)``: max_pool2d of each x in a list, in order.
    """
    if not candidate.has("max_pool2d"):
        return lambda inputs: [reference.max_pool2d(x, **case.geometry) for x in inputs]
    try:
        forward_matches_reference(candidate, case, Evidence())
    except Falsified:
        raise NotChecked(
            "not checked: the forward is wrong on this example; see max_pool2d.matches_reference"
        ) from None

    def forward(inputs: list[np.ndarray]) -> list[np.ndarray]:
        results = candidate.call_many("max_pool2d", [((x,), case.geometry) for x in inputs])
        return [_expect_y(case, y) for y in results]

    return forward


def forward_matches_torch(candidate, case, evidence):
    check_forward_matches(
        candidate,
        case,
        evidence,
        lambda x: torch_autograd.max_pool2d_forward(x, **case.geometry),
    )


def forward_contract(candidate: Candidate, case: PoolCase, evidence: Evidence) -> None:
    x, _ = case.arrays()
    (y,) = contract.call_and_check(
        candidate,
        "max_pool2d",
        (x,),
        case.geometry,
        names=("y",),
        shapes=(case.y_shape,),
        dtype=x.dtype,
    )
    nan_windows = np.isnan(reference.max_pool2d(x, **case.geometry))
    stray = np.isnan(y) & ~nan_windows
    if stray.any():
        index = tuple(int(i) for i in np.argwhere(stray)[0])
        raise Falsified(f"max_pool2d returned NaN at {list(index)}, whose window holds no NaN")


# ---------------------------------------------------------------- max_pool2d_backward


def _call_backward(candidate: Candidate, case: PoolCase, dy, x) -> np.ndarray:
    result = candidate.call("max_pool2d_backward", dy, x, **case.geometry)
    return expect_array(result, function="max_pool2d_backward", name="dx", shape=case.x_shape)


def check_backward_matches(
    candidate: Candidate, case: PoolCase, evidence: Evidence, oracle
) -> None:
    x, dy = case.arrays()
    dx = _call_backward(candidate, case, dy, x)
    x64, dy64 = np.asarray(x, np.float64), np.asarray(dy, np.float64)
    scale = max_pool2d_backward_scale(dy64, x64, **case.geometry)
    terms = int(np.prod(case.kernel_size))  # windows that can overlap one input
    expected = oracle(dy64, x64)
    comparison = compare(dx, expected, scale=scale, rtol=rtol_for(case.dtype, terms), name="dx")
    evidence.require(
        comparison,
        partial(backward_hints, case, x64, expected, dx, scale),
        inputs={"x": x, "dy": dy},
    )


def backward_matches_reference(candidate, case, evidence):
    check_backward_matches(
        candidate,
        case,
        evidence,
        lambda dy, x: reference.max_pool2d_backward(dy, x, **case.geometry),
    )


def backward_matches_torch(candidate, case, evidence):
    check_backward_matches(
        candidate,
        case,
        evidence,
        lambda dy, x: torch_autograd.max_pool2d_with_gradients(x, dy, **case.geometry)[1],
    )


def backward_finite_differences(candidate: Candidate, case: PoolCase, evidence: Evidence) -> None:
    """On tie-free inputs max pooling is locally a selection, linear in x: FD is exact."""
    x, dy = case.arrays()
    pooled = trusted_forward(candidate, case)
    dx = _call_backward(candidate, case, dy, x)

    dy_magnitude = float(
        np.sum(
            np.abs(np.asarray(dy, np.float64))
            * (np.abs(reference.max_pool2d(np.asarray(x, np.float64), **case.geometry)) + 1)
        )
    )
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


def backward_conservation_and_support(
    candidate: Candidate, case: PoolCase, evidence: Evidence
) -> None:
    """sum(dx) = sum(dy), and dx is non-zero only where an element is its window's maximum."""
    x, dy = case.arrays()
    trusted_forward(candidate, case)  # NotChecked where the candidate's forward is wrong here
    dx = _call_backward(candidate, case, dy, x)
    dy64 = np.asarray(dy, np.float64)
    rtol = rtol_for(case.dtype, dy.size)
    total = np.array(float(np.sum(np.asarray(dx, np.float64))))
    evidence.require(
        compare(
            total,
            np.array(float(dy64.sum())),
            scale=float(np.abs(dy64).sum()),
            rtol=rtol,
            name="sum(dx) against sum(dy)",
        )
    )
    x64 = np.asarray(x, np.float64)
    y = reference.max_pool2d(x64, **case.geometry)  # the candidate's forward, bit for bit (checked)
    stray = (np.asarray(dx) != 0) & ~maxima_positions(case, x64, y)
    if stray.any():
        index = tuple(int(i) for i in np.argwhere(stray)[0])
        raise Falsified(
            f"dx{list(index)} = {dx[index]!r}, but x{list(index)} = {x[index]!r} is not the maximum of any "
            "window containing it: gradient may only flow to the element a window selected"
        )


def backward_contract(candidate: Candidate, case: PoolCase, evidence: Evidence) -> None:
    x, dy = case.arrays()
    (dx,) = contract.call_and_check(
        candidate,
        "max_pool2d_backward",
        (dy, x),
        case.geometry,
        names=("dx",),
        shapes=(case.x_shape,),
        dtype=common_dtype(dy, x),
    )
    contract.require_finite([dx], "max_pool2d_backward", "a finite dy")
    contract.require_zero_gradients(
        candidate, "max_pool2d_backward", (np.zeros_like(dy), x), case.geometry, ("dx",)
    )


# ---------------------------------------------------------------- registry


def _cases(values=None):
    def cases(dtype: str, unsupported: frozenset[str]):
        if values is None:
            return pool_cases(dtype=dtype, unsupported=unsupported)
        return pool_cases(dtype=dtype, unsupported=unsupported, values=values)

    return cases


FORWARD = "Y[n,c,p,q] = max over in-bounds (i,j) of X[n, c, p*s + i*d - pad, q*s + j*d - pad]"
BACKWARD = "dX[u,v] = sum of dY over the windows that route to (u,v): first strict maximum, last NaN, first in-bounds if all -inf"

PROPERTIES = (
    Property(
        "max_pool2d.matches_reference",
        "max_pool2d",
        "max_pool2d agrees exactly with cnnref's reference, NaN and -inf included.",
        FORWARD,
        _cases(),
        forward_matches_reference,
    ),
    Property(
        "max_pool2d.matches_torch",
        "max_pool2d",
        "max_pool2d agrees exactly with torch.nn.functional.max_pool2d.",
        FORWARD,
        _cases(),
        forward_matches_torch,
        needs_torch=True,
    ),
    Property(
        "max_pool2d.contract",
        "max_pool2d",
        "max_pool2d returns a new ndarray of the right shape and dtype, NaN only where a window holds NaN, the same on every call, and leaves its input alone.",
        "dtype(Y) = dtype(X)",
        _cases(),
        forward_contract,
    ),
    Property(
        "max_pool2d_backward.matches_reference",
        "max_pool2d_backward",
        "dx agrees with cnnref's reference: ties, NaN and -inf routed as PyTorch does, overlaps accumulated.",
        BACKWARD,
        _cases(),
        backward_matches_reference,
    ),
    Property(
        "max_pool2d_backward.finite_differences",
        "max_pool2d_backward",
        "On tie-free inputs dx agrees with central finite differences of the candidate's own max_pool2d (the reference's if it has none), on examples where that max_pool2d matches the reference.",
        "<dL/dX, v> = d/dt <max_pool2d(X + t v), dY>",
        _cases(values=("distinct",)),
        backward_finite_differences,
    ),
    Property(
        "max_pool2d_backward.conservation_and_support",
        "max_pool2d_backward",
        "The gradient is conserved (sum dx = sum dy) and flows only to elements that are the maximum of a window containing them.",
        "sum dX = sum dY;  dX[u,v] != 0  =>  X[u,v] = max of a window containing (u,v)",
        _cases(),
        backward_conservation_and_support,
    ),
    Property(
        "max_pool2d_backward.matches_torch",
        "max_pool2d_backward",
        "dx agrees with PyTorch autograd.",
        BACKWARD,
        _cases(),
        backward_matches_torch,
        needs_torch=True,
    ),
    Property(
        "max_pool2d_backward.contract",
        "max_pool2d_backward",
        "max_pool2d_backward returns a new ndarray of x's shape and the right dtype, finite, deterministic, zero for zero dy, and leaves its inputs alone.",
        "dtype(dX) = result_type(dY, X)",
        _cases(),
        backward_contract,
    ),
)
