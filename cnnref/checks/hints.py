"""Name the bug behind a mismatch when it matches a known pattern.

Two kinds of evidence:

* *variants*: the output a known bug would produce (a flipped kernel, a
  gradient of the first batch item only, ...), computed with the reference.
  If the candidate matches a variant, that is almost certainly its bug.
* *masks*: where the mismatches are.  Errors confined to the borders, to
  windows with ties, to overlapping windows or to batch items after the first
  each point at one piece of the implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import numpy as np

from ..ops.arguments import effective_kernel, pool_output_size
from ..strategies.cases import Case
from .compare import Comparison, compare
from .precision_hints import half_precision_hints

Variant = tuple[str, Callable[[], np.ndarray | None]]


def explain(
    comparison: Comparison,
    actual: np.ndarray,
    expected: np.ndarray,
    *,
    scale: np.ndarray | float,
    dtype: str,
    layout: str,
    variants: Iterable[Variant] = (),
    conventions: Iterable[Variant] = (),
    regions: Iterable[tuple[str, np.ndarray]] = (),
) -> list[str]:
    """Every hint that applies to a failed comparison of ``actual`` with ``expected``.

    ``variants`` are known bugs; ``conventions`` the results under another pooling
    convention, which say what the candidate follows, not where its code goes wrong.
    Where the errors are is only a lead when no known bug's output matched, and only in
    C-contiguous memory: a layout bug puts its errors wherever the strides happen to land.
    """
    rtol = comparison.rtol
    found = (
        matching_variants(actual, variants, scale=scale, rtol=rtol)
        + scaling_hint(actual, expected, scale=scale, rtol=rtol)
        + half_precision_hints(comparison, actual, expected, scale, dtype)
    )
    found_convention = matching_variants(actual, conventions, scale=scale, rtol=rtol)
    if not found and layout == "contiguous":
        # Later batch items are the lead of last resort: a large example puts whatever it
        # needed (two NaNs in one window, say) in a later item more often than not.
        found = location_hints(comparison, regions) or location_hints(
            comparison, [batch_region(actual.shape)]
        )
    changed = value_change_hints(actual, expected)
    return found_convention + changed + found + rounding_hint(comparison, dtype)


def explain_case(
    case: Case,
    comparison: Comparison,
    actual: np.ndarray,
    expected: np.ndarray,
    scale: np.ndarray | float,
    **found: Iterable,
) -> list[str]:
    """``explain`` for an op's example: its dtype and layout are the case's.  ``found`` is
    ``explain``'s ``variants``, ``conventions`` and ``regions``."""
    return explain(
        comparison,
        actual,
        expected,
        scale=scale,
        dtype=case.dtype,
        layout=case.layout,
        **found,
    )


def where_gradient_went(actual: np.ndarray, expected: np.ndarray, *, name: str = "dx") -> list[str]:
    """For a gradient that is not conserved: the elements that got more than they should
    (where it went) and those that got less (where it should have gone), three of each."""
    actual64 = np.asarray(actual, np.float64)
    expected64 = np.asarray(expected, np.float64)
    if actual64.shape != expected64.shape:
        return []
    differs = ~np.isclose(actual64, expected64, rtol=1e-9, atol=0.0, equal_nan=True)
    extra = differs & ~(np.abs(actual64) <= np.abs(expected64))
    missing = differs & ~extra

    def listed(mask: np.ndarray, values: np.ndarray) -> str:
        places = [tuple(int(i) for i in at) for at in np.argwhere(mask)[:3]]
        more = f" and {int(mask.sum()) - 3} more" if mask.sum() > 3 else ""
        return ", ".join(f"{list(at)} ({float(values[at]):.4g})" for at in places) + more

    parts = []
    if extra.any():
        parts.append(f"the gradient went to {name}{listed(extra, actual64)}")
    if missing.any():
        parts.append(
            f"it should have gone to {name}{listed(missing, expected64)}, as the reference routes it"
        )
    return ["; ".join(parts)] if parts else []


def value_change_hints(actual: np.ndarray, expected: np.ndarray) -> list[str]:
    """Name a non-finite value that came back as a number: -inf as the dtype's lowest finite
    value (+inf as its highest), or NaN as any number."""
    if actual.shape != np.shape(expected) or actual.dtype.kind != "f":
        return []
    expected = np.asarray(expected, dtype=np.float64)
    limits = np.finfo(actual.dtype)
    found = []
    for infinity, limit, words in (
        (-np.inf, limits.min, "lowest"),
        (np.inf, limits.max, "highest"),
    ):
        turned = (expected == infinity) & (actual == limit)
        if turned.any():
            at = tuple(int(i) for i in np.argwhere(turned)[0])
            found.append(
                f"{infinity} became {float(limit):.6g}, the {words} finite {actual.dtype} value "
                f"(at {list(at)}, {int(turned.sum())} such): something turns infinities into "
                "numbers (np.nan_to_num, a clip, a running maximum started at finfo.min)"
            )
    became_number = np.isnan(expected) & np.isfinite(actual)
    if became_number.any():
        at = tuple(int(i) for i in np.argwhere(became_number)[0])
        found.append(
            f"NaN became a number ({float(actual[at]):.6g} at {list(at)}, {int(became_number.sum())} "
            "such): something drops or replaces NaN (np.nan_to_num, np.nanmax or fmax, a "
            "comparison that is False for NaN)"
        )
    return found


def matching_variants(
    actual: np.ndarray, variants: Iterable[Variant], *, scale: np.ndarray | float, rtol: float
) -> list[str]:
    """The descriptions of the variants that ``actual`` agrees with."""
    found = []
    for description, build in variants:
        expected = build()
        if expected is None or expected.shape != actual.shape:
            continue
        if compare(actual, expected, scale=scale, rtol=rtol, name="variant").passed:
            found.append(description)
    return found


def scaling_hint(
    actual: np.ndarray, expected: np.ndarray, *, scale: np.ndarray | float, rtol: float
) -> list[str]:
    """'off by a constant factor' when ``actual`` is ``c * expected`` for some c != 1."""
    expected64 = np.asarray(expected, dtype=np.float64)
    actual64 = np.asarray(actual, dtype=np.float64)
    if not (np.isfinite(expected64).all() and np.isfinite(actual64).all()):
        return []
    norm = float(np.vdot(expected64, expected64))
    if np.count_nonzero(expected64) < 3:
        return []  # any one or two numbers are a multiple of any others: no evidence
    factor = float(np.vdot(actual64, expected64)) / norm
    if abs(factor - 1) < 1e-6 or abs(factor) < 1e-12:
        return []
    if not compare(
        actual64, factor * expected64, scale=abs(factor) * scale, rtol=rtol, name="scaled"
    ).passed:
        return []
    if abs(factor + 1) < 1e-6:
        return ["the result has the wrong sign everywhere (it is exactly -1 times the right one)"]
    return [
        f"the result is the right one times {factor:.6g} everywhere: a missing or extra factor "
        f"(a mean instead of a sum? a 1/N, 1/(OH*OW) or a count of windows?)"
    ]


def location_hints(comparison: Comparison, regions: Iterable[tuple[str, np.ndarray]]) -> list[str]:
    """Hints for the smallest named regions (boolean masks) that contain every mismatch.

    A region is only worth naming when it is a strict part of the output (callers leave
    out regions that cover everything), and only when no smaller region also holds every
    mismatch: "windows with two NaNs", not also "windows with a NaN".
    """
    wrong = comparison.mismatched
    if not wrong.any():
        return []
    holding = [
        (description, np.broadcast_to(region, wrong.shape))
        for description, region in regions
        if not (wrong & ~np.broadcast_to(region, wrong.shape)).any()
    ]
    smallest = [
        (description, region)
        for description, region in holding
        if not any(
            (smaller & ~region).sum() == 0 and smaller.sum() < region.sum()
            for _, smaller in holding
        )
    ]
    # Regions that are the same mask here are leads this example cannot tell apart: one hint.
    groups: list[tuple[list[str], np.ndarray]] = []
    for description, region in smallest:
        same = next((group for group in groups if np.array_equal(group[1], region)), None)
        if same is None:
            groups.append(([description], region))
        else:
            same[0].append(description)
    return [either(descriptions, "; or equally, ") for descriptions, _ in groups]


def shape_evidence(
    actual: np.ndarray,
    *,
    expected_shape: tuple[int, ...],
    mistakes: dict[str, tuple[tuple[int, ...], Callable[[], np.ndarray | None] | None]],
) -> list[str]:
    """Name the mistakes (description -> (the shape it gives, its values or None)) behind a
    wrong output shape.

    Mistakes whose values ``actual`` has are named; failing that, those that give its shape
    and whose values are unknown (those whose values differ are ruled out).
    On a small example several can fit equally well: they are named together, as
    alternatives the example cannot tell apart, never as separate causes.
    """
    # The values of each mistake that gives this shape, computed once (None: unknown).
    shaped = {
        description: None if values is None else values()
        for description, (shape, values) in mistakes.items()
        if tuple(shape) == actual.shape != tuple(expected_shape)
    }
    valued = [
        description
        for description, values in shaped.items()
        if values is not None and _same_values(actual, values)
    ]
    if valued:
        return [f"the output is what you get with {either(valued, ', or with ')}"]
    # Mistakes whose values were computed and differ are ruled out; only the unknown remain.
    unknown = [description for description, values in shaped.items() if values is None]
    if unknown:
        return [f"the output shape is what you get with {either(unknown, ', or with ')}"]
    return []


def either(leads: list[str], joiner: str) -> str:
    """One lead, or several that the example fits equally well, said as such."""
    if len(leads) == 1:
        return leads[0]
    return joiner.join(leads) + " (this example cannot tell them apart)"


def _same_values(actual: np.ndarray, mistaken: np.ndarray | None) -> bool:
    """Agreement far looser than any tolerance, far tighter than two different bugs give."""
    if mistaken is None or mistaken.shape != actual.shape or actual.dtype.kind not in "biuf":
        return False
    mistaken64, actual64 = mistaken.astype(np.float64), actual.astype(np.float64)
    finite = np.isfinite(mistaken64)
    margin = 1e-3 * max(1.0, float(np.abs(mistaken64[finite]).max(initial=0.0)))
    return bool(
        np.array_equal(finite, np.isfinite(actual64))
        and np.array_equal(mistaken64[~finite], actual64[~finite], equal_nan=True)
        and np.allclose(actual64[finite], mistaken64[finite], rtol=1e-3, atol=margin)
    )


def batch_region(shape: tuple[int, ...]) -> tuple[str, np.ndarray]:
    """Batch items after the first (empty for a batch of one, so it never matches then)."""
    later = np.zeros(shape, dtype=bool)
    later[1:] = True
    return (
        "only batch items after the first are wrong: check how the batch axis is indexed, "
        "strided or accumulated (the bug needs batch > 1)",
        later,
    )


def rounding_hint(comparison: Comparison, dtype: str) -> list[str]:
    """float32-sized errors in a float64 run."""
    if dtype != "float64" or comparison.passed:
        return []
    if 1e-9 < comparison.rel_error < 1e-3:
        return [
            f"the errors are of float32 rounding size (relative {comparison.rel_error:.2g}) in a "
            "float64 run: something computes in float32 (a float32 buffer, np.float32 constant, "
            "or a float32 BLAS/torch call)"
        ]
    return []


def border_mask(shape: tuple[int, ...], widths: tuple[int, ...]) -> np.ndarray:
    """True within ``widths`` rows/columns of the spatial edges of ``shape``."""
    height, width = shape[-2:]
    rows = np.zeros(height, dtype=bool)
    cols = np.zeros(width, dtype=bool)
    rows[: widths[0]] = rows[height - widths[0] :] = True
    cols[: widths[1]] = cols[width - widths[1] :] = True
    return rows[:, None] | cols[None, :]


LAST_WINDOW_RULE = (
    "a last window that starts past the input: in ceil_mode PyTorch drops a window unless it "
    "starts inside the input or its left padding ((out - 1) * stride < height + padding)"
)


def pool_shape_hints(op: str, case: Any, geometry: Any, actual: np.ndarray) -> list[str]:
    """Which plausible mistake in the output-size rule of the pool ``op`` gives ``actual``'s
    shape (see ``shape_evidence``: where several give it, only those whose values it has are
    named).  ``geometry`` is the case's, checked: its kernel_size, stride, padding, and
    dilation where the pool has one."""
    dilation = getattr(geometry, "dilation", (1, 1))
    axes = list(
        zip(
            (case.height, case.width),
            geometry.kernel_size,
            geometry.stride,
            geometry.padding,
            dilation,
        )
    )
    x = case.arrays()[0]
    pool = partial(reference_or_none, op, x)
    flipped = "ceil_mode=False (floor)" if case.ceil_mode else "ceil_mode=True"
    mistakes: dict[str, tuple[list[int], Callable[[], np.ndarray | None] | None]] = {
        f"{flipped}: honour ceil_mode": (
            [pool_output_size(n, k, s, p, d, not case.ceil_mode) for n, k, s, p, d in axes],
            partial(pool, **(case.geometry | {"ceil_mode": not case.ceil_mode})),
        ),
    }
    if case.ceil_mode:
        mistakes[LAST_WINDOW_RULE] = (
            [-(-(n + 2 * p - effective_kernel(k, d)) // s) + 1 for n, k, s, p, d in axes],
            None,  # what a window that starts in the right padding holds is anyone's guess
        )
    if case.stride is None:
        mistakes["stride 1: stride=None means stride = kernel_size"] = (
            [pool_output_size(n, k, 1, p, d, case.ceil_mode) for n, k, _, p, d in axes],
            partial(pool, **(case.geometry | {"stride": 1})),
        )
    return shape_evidence(
        actual,
        expected_shape=case.y_shape,
        mistakes={
            description: ((*case.y_shape[:2], *sizes), values)
            for description, (sizes, values) in mistakes.items()
        },
    )


def reference_or_none(function: str, *arrays: np.ndarray, **geometry: Any) -> Any:
    """The reference's ``function`` of ``arrays``, or None where this geometry is invalid."""
    from .. import reference  # the ops' forms, loaded when a hint needs them

    try:
        return getattr(reference, function)(*arrays, **geometry)
    except ValueError:
        return None


# A sum's NaN and inf reaching outputs they are no term of: the averaging pools' hint.
NONFINITE_SPREAD = (
    "{name} is NaN or inf where every term it sums is finite: the NaN and inf of {source} reach "
    "elements they do not belong to, as a running sum (an integral image: S[end] - S[start]) or "
    "a product with a 0/1 matrix spreads them (inf - inf and 0 * inf are NaN); sum each "
    "window's own elements"
)


def nonfinite_spread(
    expected: np.ndarray, actual: np.ndarray, source: np.ndarray, name: str, source_name: str
) -> list[str]:
    """NONFINITE_SPREAD when ``source`` holds NaN or inf and the result has some where the
    reference's is finite (NaN or inf of its own making needs no such cause)."""
    if np.isfinite(source).all():
        return []
    stray = ~np.isfinite(np.asarray(actual, dtype=np.float64)) & np.isfinite(expected)
    return [NONFINITE_SPREAD.format(name=name, source=source_name)] if stray.any() else []


def pool_backward_hints(
    hints: Any,
    case: Case,
    x: np.ndarray,
    dy: np.ndarray,
    expected: np.ndarray,
    actual: np.ndarray,
    scale: np.ndarray | float,
    comparison: Comparison,
    *,
    sums: bool = True,
) -> list[str]:
    """Hints for a pool's wrong dx, from its ``hints`` module: the mistakes it may match
    (``hints.backward_variants(case, x, dy)``), and ``hints.SHARED_INPUTS_ONLY`` where the
    errors sit only at inputs that several windows read (``hints.reads_per_input(case)``: how
    many windows read each).  ``sums``: dx sums dy, so NaN and inf of dy may spread
    (``nonfinite_spread``)."""
    shared = hints.reads_per_input(case) > 1
    regions = [(hints.SHARED_INPUTS_ONLY, shared)] if shared.any() and not shared.all() else []
    spread = nonfinite_spread(expected, actual, dy, "dx", "dy") if sums else []
    variants = hints.backward_variants(case, x, dy)
    return spread + explain_case(
        case, comparison, actual, expected, scale, variants=variants, regions=regions
    )
