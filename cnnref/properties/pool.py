"""Properties of max_pool2d and max_pool2d_backward."""

from __future__ import annotations

from functools import partial

import numpy as np

from .. import reference
from ..oracles import finite_differences, torch_autograd
from ..oracles.scales import max_pool2d_backward_scale
from ..reference.geometry import PoolGeometry, common_dtype, pool_output_size
from ..reference.pool import window_padding, window_taps
from ..strategies import PoolCase, pool_cases
from ..strategies.cases import DISTINCT_SPACING
from . import contract
from .base import Candidate, Evidence, Falsified, Property, expect_array
from .compare import compare, rtol_for, summation_rtol
from .hints import batch_region, explain

# Finite-difference step: far below the gap between distinct inputs, so no argmax moves,
# and a power of two, so x +- step is exact in float32 and float64.
FD_STEP = DISTINCT_SPACING / 8


def _forward(candidate: Candidate):
    if candidate.has("max_pool2d"):
        return lambda *args, **kwargs: candidate.call("max_pool2d", *args, **kwargs)
    return reference.max_pool2d


# ---------------------------------------------------------------- window geometry


def _each_window(case: PoolCase, x: np.ndarray):
    """For every tap: (values the tap reads in each window, in-bounds mask, input slices)."""
    geometry = PoolGeometry.from_args(**case.geometry)
    out_shape = case.y_shape
    widths = window_padding(geometry, x.shape, out_shape)
    padded = np.pad(np.asarray(x, np.float64), widths, constant_values=np.nan)
    inside = np.pad(np.ones(x.shape[-2:], dtype=bool), widths[2:], constant_values=False)
    for _, rows, cols in window_taps(geometry, out_shape[-2:]):
        yield padded[..., rows, cols], inside[rows, cols], (rows, cols), widths


def _count_over_inputs(case: PoolCase, x: np.ndarray, per_window) -> np.ndarray:
    """For each input position, how many windows reading it have ``per_window(values)`` True."""
    count = None
    for values, inside, (rows, cols), widths in _each_window(case, x):
        if count is None:
            count = np.zeros([n + a + b for n, (a, b) in zip(x.shape, widths)], dtype=int)
        count[..., rows, cols] += per_window(values) & inside
    (top, _), (left, _) = widths[2:]
    return count[..., top : top + case.height, left : left + case.width]


def spread_to_inputs(case: PoolCase, x: np.ndarray, window_mask: np.ndarray) -> np.ndarray:
    """Input positions read by at least one window where ``window_mask`` is True."""
    return _count_over_inputs(case, x, lambda values: window_mask) > 0


def maxima_positions(case: PoolCase, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Input positions that hold the maximum (or a NaN maximum) of a window containing them."""
    return _count_over_inputs(case, x, lambda v: (v == y) | (np.isnan(v) & np.isnan(y))) > 0


def window_counts(case: PoolCase, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """How many in-bounds elements of each window equal its maximum."""
    count = np.zeros(case.y_shape, dtype=int)
    for values, inside, _, _ in _each_window(case, x):
        count += (values == y) & inside
    return count


# ---------------------------------------------------------------- hints


def shape_hints(case: PoolCase, shape: tuple[int, ...]) -> list[str]:
    geometry = PoolGeometry.from_args(**case.geometry)
    found = []
    flipped = [
        pool_output_size(n, k, s, p, d, not case.ceil_mode)
        for n, k, s, p, d in _axes(case, geometry)
    ]
    if tuple(shape[-2:]) == tuple(flipped):
        mode = "ceil_mode=False (floor)" if case.ceil_mode else "ceil_mode=True"
        found.append(
            f"the output shape is what {mode} gives: honour ceil_mode, including PyTorch's rule that the last window must start inside the input or its left padding"
        )
    if case.stride is None and tuple(shape[-2:]) == tuple(
        pool_output_size(n, k, 1, p, d, case.ceil_mode) for n, k, _, p, d in _axes(case, geometry)
    ):
        found.append(
            "the output shape is what stride 1 gives: stride=None means stride = kernel_size"
        )
    return found


def _axes(case: PoolCase, geometry: PoolGeometry):
    return zip(
        (case.height, case.width),
        geometry.kernel_size,
        geometry.stride,
        geometry.padding,
        geometry.dilation,
    )


ZERO_PADDING = (
    "y matches pooling over a zero-padded input: PyTorch never reads the padding (it acts as -inf)"
)
NAN_SKIPPED = "y matches pooling that skips NaN: a window containing NaN has maximum NaN (np.max, not np.nanmax or fmax)"
TIES_ONLY = (
    "only windows whose maximum is tied are wrong: PyTorch routes a tie to the FIRST maximum in "
    "row-major window order (take over only on a strictly greater value)"
)
NAN_ONLY = "only windows containing NaN are wrong: a NaN always takes over, so PyTorch routes to the LAST NaN of the window"
NEGINF_ONLY = "only windows that are entirely -inf are wrong: PyTorch routes them to their first in-bounds element (never to padding)"
OVERLAP_ONLY = "only inputs shared by overlapping windows are wrong: each window must ADD its gradient (+=), not assign it"


def forward_hints(
    case: PoolCase, x: np.ndarray, expected: np.ndarray, actual: np.ndarray, comparison
) -> list[str]:
    variants = [(ZERO_PADDING, partial(_zero_padded_pool, case, x))]
    if np.isnan(x).any():
        without_nan = np.where(np.isnan(x), -np.inf, x)
        variants.append((NAN_SKIPPED, partial(reference.max_pool2d, without_nan, **case.geometry)))
    return explain(
        comparison,
        actual=actual,
        expected=expected,
        scale=0.0,
        dtype=case.dtype,
        variants=variants,
        regions=[batch_region(actual.shape)],
    )


def _zero_padded_pool(case: PoolCase, x: np.ndarray) -> np.ndarray | None:
    """What pooling gives when the padding (and any ceil-mode overhang) holds zeros that compete."""
    geometry = PoolGeometry.from_args(**case.geometry)
    y = reference.max_pool2d(x, **case.geometry)
    rows = geometry.taps_in_bounds("height", case.height, y.shape[-2]).all(axis=0)
    cols = geometry.taps_in_bounds("width", case.width, y.shape[-1]).all(axis=0)
    touches_outside = ~(rows[:, None] & cols[None, :])
    if not touches_outside.any():
        return None
    return np.where(touches_outside, np.maximum(y, 0.0), y)


def backward_hints(
    case: PoolCase,
    x: np.ndarray,
    expected: np.ndarray,
    actual: np.ndarray,
    scale: np.ndarray,
    comparison,
) -> list[str]:
    y = reference.max_pool2d(x, **case.geometry)
    regions = [
        (TIES_ONLY, spread_to_inputs(case, x, window_counts(case, x, y) > 1)),
        (NAN_ONLY, spread_to_inputs(case, x, np.isnan(y))),
        (NEGINF_ONLY, spread_to_inputs(case, x, y == -np.inf)),
        (
            OVERLAP_ONLY,
            _count_over_inputs(case, x, lambda values: np.ones(values.shape, dtype=bool)) > 1,
        ),
        batch_region(actual.shape),
    ]
    return explain(
        comparison, actual=actual, expected=expected, scale=scale, dtype=case.dtype, regions=regions
    )


# ---------------------------------------------------------------- max_pool2d


def _call_forward(candidate: Candidate, case: PoolCase, x) -> np.ndarray:
    result = candidate.call("max_pool2d", x, **case.geometry)
    return expect_array(
        result,
        function="max_pool2d",
        name="y",
        shape=case.y_shape,
        hints=shape_hints(case, getattr(result, "shape", ())),
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


def forward_matches_torch(candidate, case, evidence):
    check_forward_matches(
        candidate,
        case,
        evidence,
        lambda x: torch_autograd.max_pool2d_with_gradients(
            x, np.zeros(case.y_shape), **case.geometry
        )[0],
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
    dx = _call_backward(candidate, case, dy, x)
    forward = _forward(candidate)

    def pooled(v):
        return forward(v, **case.geometry)

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
    y = np.asarray(_forward(candidate)(x, **case.geometry), np.float64)
    stray = (np.asarray(dx) != 0) & ~maxima_positions(case, np.asarray(x, np.float64), y)
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
        "On tie-free inputs dx agrees with central finite differences of the candidate's own max_pool2d (the reference's if it has none).",
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
