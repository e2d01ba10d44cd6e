"""Name the bug behind a wrong max_pool2d or max_pool2d_backward result (see hints.py)."""

from __future__ import annotations

from functools import partial

import numpy as np

from ... import reference
from ...checks.hints import Variant, explain_case, pool_shape_hints
from ...checks.suggestions import Suggestion, declaring
from ...declarations import CONVENTIONS, PYTORCH, Conventions
from .cases import PoolCase
from .geometry import PoolGeometry
from .windows import count_over_inputs, each_window, spread_to_inputs, window_counts


def shape_hints(case: PoolCase, actual: np.ndarray) -> list[str]:
    """Which plausible mistake in the output-size rule gives ``actual``'s shape."""
    return pool_shape_hints("max_pool2d", case, PoolGeometry.from_args(**case.geometry), actual)


ZERO_PADDING = Suggestion(
    "y matches pooling over a zero-padded input: PyTorch never reads the padding (it acts as -inf)",
    declaring({"pad_value": "zeros"}),
    {"pad_value": "zeros"},
)
NAN_SKIPPED = Suggestion(
    "y matches pooling that skips NaN: a window containing NaN has maximum NaN (np.max, not "
    "np.nanmax or fmax)",
    declaring({"nan": "ignore"}),
    {"nan": "ignore"},
)
TIES_ONLY = (
    "only windows whose maximum is tied are wrong: PyTorch routes a tie to the FIRST maximum in "
    "row-major window order (take over only on a strictly greater value)"
)
NAN_ONLY = "only windows containing NaN are wrong: a NaN always takes over, so PyTorch routes to the LAST NaN of the window"
TWO_NANS_ONLY = "only windows holding two or more NaNs are wrong: each NaN takes over from the one before, so PyTorch routes to the LAST NaN of the window"
NEGINF_ONLY = "only windows that are entirely -inf are wrong: PyTorch routes them to their first in-bounds element (never to padding)"
TIES_SPLIT = (
    "only windows whose maximum is tied are wrong: with ties='split' each of the k tied maxima "
    "gets dL/dY / k"
)
NAN_IGNORED = (
    "only windows containing NaN are wrong: with nan='ignore' NaN is skipped (the maximum of the "
    "rest routes), and a window of NaN only gives NaN and routes nothing"
)
NAN_FIRST = (
    "only windows containing NaN are wrong: with nan='first' the FIRST NaN of a window takes dL/dY"
)
OVERLAP_ONLY = "only inputs shared by overlapping windows are wrong: each window must ADD its gradient (+=), not assign it"
MASKED_NONFINITE_DY = (
    "dx is NaN where no NaN or inf of dy is routed, only in windows whose dy is NaN or inf: "
    "0 * NaN and 0 * inf are NaN, so multiplying dy by a 0/1 mask spreads them; route dy "
    "with np.where or by index instead"
)


def other_conventions(
    case: PoolCase, x: np.ndarray, conventions: Conventions, function: str, dy=None
) -> list:
    """Variants: the result under each convention switched to its other value.  A match says
    which convention the candidate follows: the declaration is wrong, or missing."""
    variants = []
    declared = conventions.reference_options(function)
    alternatives = [
        (name, value, other)
        for name, value in declared.items()
        for other in CONVENTIONS[name]
        if other != value
    ]
    for name, value, other in alternatives:
        if value != PYTORCH[name]:
            text = Suggestion(
                f"the result matches the convention {name}={other!r}, but the candidate declares "
                f"{name}={value!r}",
                "fix the declaration (CNNREF_CONVENTIONS) or the code",
                {name: other},
            )
        else:
            text = Suggestion(
                f"the result matches the convention {name}={other!r} ({CONVENTIONS[name][other]}), "
                f"not PyTorch's {name}={value!r}",
                declaring({name: other}),
                {name: other},
            )
        options = declared | {name: other}
        if function == "max_pool2d":
            build = partial(reference.max_pool2d, x, **case.geometry, **options)
        else:
            build = partial(reference.max_pool2d_backward, dy, x, **case.geometry, **options)
        variants.append((text, build))
    return variants


def forward_hints(
    case: PoolCase,
    x: np.ndarray,
    expected: np.ndarray,
    actual: np.ndarray,
    conventions: Conventions,
    comparison,
) -> list[str]:
    if conventions.comparable_with_pytorch():
        variants: list[Variant] = [(ZERO_PADDING, partial(_zero_padded_pool, case, x))]
        if np.isnan(x).any():
            without_nan = np.where(np.isnan(x), -np.inf, x)
            variants.append(
                (NAN_SKIPPED, partial(reference.max_pool2d, without_nan, **case.geometry))
            )
        alternatives = []
    else:
        variants, alternatives = [], other_conventions(case, x, conventions, "max_pool2d")
    return explain_case(
        case, comparison, actual, expected, 0.0, variants=variants, conventions=alternatives
    )


def _zero_padded_pool(case: PoolCase, x: np.ndarray) -> np.ndarray | None:
    """What pooling gives when the padding (and any ceil-mode overhang) holds zeros that compete."""
    geometry = PoolGeometry.from_args(**case.geometry)
    y = reference.max_pool2d(x, **case.geometry)
    rows = geometry.taps_in_bounds("height", case.height, y.shape[-2]).all(axis=0)
    cols = geometry.taps_in_bounds("width", case.width, y.shape[-1]).all(axis=0)
    touches_outside = ~(np.asarray(rows)[:, None] & np.asarray(cols)[None, :])
    if not touches_outside.any():
        return None
    return np.where(touches_outside, np.maximum(y, 0.0), y)


def backward_hints(
    case: PoolCase,
    x: np.ndarray,
    expected: np.ndarray,
    actual: np.ndarray,
    scale: np.ndarray,
    conventions: Conventions,
    comparison,
    dy: np.ndarray | None = None,
) -> list[str]:
    options = conventions.reference_options("max_pool2d")
    y = reference.max_pool2d(x, **case.geometry, **options)
    alternatives = []
    if dy is not None:
        alternatives = other_conventions(case, x, conventions, "max_pool2d_backward", dy)
    ties = TIES_ONLY if conventions.ties == "first" else TIES_SPLIT
    nan = {"propagate": NAN_ONLY, "ignore": NAN_IGNORED, "first": NAN_FIRST}[conventions.nan]
    nans = _nans_per_window(case, x)
    regions = [
        (ties, spread_to_inputs(case, x, window_counts(case, x, y) > 1)),
        (nan, spread_to_inputs(case, x, np.isnan(y) | (nans > 0))),
        *(
            [(TWO_NANS_ONLY, spread_to_inputs(case, x, nans > 1))]
            if conventions.nan == "propagate"
            else []
        ),
        (NEGINF_ONLY, spread_to_inputs(case, x, y == -np.inf)),
        (
            OVERLAP_ONLY,
            count_over_inputs(case, x, lambda values: np.ones(values.shape, dtype=bool)) > 1,
        ),
    ]
    spread = [] if dy is None else _nonfinite_dy_spread(case, x, dy, expected, actual)
    regions = [] if spread else regions
    return spread + explain_case(
        case, comparison, actual, expected, scale, conventions=alternatives, regions=regions
    )


def _nonfinite_dy_spread(
    case: PoolCase, x: np.ndarray, dy: np.ndarray, expected: np.ndarray, actual: np.ndarray
) -> list[str]:
    """MASKED_NONFINITE_DY when every stray NaN of dx lies in a window whose dy is not finite."""
    stray = np.isnan(actual) & ~np.isnan(expected)
    if not stray.any() or np.isfinite(dy).all():
        return []
    reached = spread_to_inputs(case, x, ~np.isfinite(dy))
    return [] if (stray & ~reached).any() else [MASKED_NONFINITE_DY]


def _nans_per_window(case: PoolCase, x: np.ndarray) -> np.ndarray:
    """How many in-bounds NaNs each window holds."""
    count = np.zeros(case.y_shape, dtype=int)
    for values, inside, _, _, _ in each_window(case, x):
        count += np.isnan(values) & inside
    return count
