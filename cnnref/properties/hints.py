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

import numpy as np

from .compare import Comparison, compare

Variant = tuple[str, Callable[[], np.ndarray | None]]


def explain(
    comparison: Comparison,
    actual: np.ndarray,
    expected: np.ndarray,
    *,
    scale: np.ndarray,
    dtype: str,
    variants: Iterable[Variant] = (),
    regions: Iterable[tuple[str, np.ndarray]] = (),
) -> list[str]:
    """Every hint that applies to a failed comparison of ``actual`` with ``expected``."""
    rtol = comparison.rtol
    return (
        matching_variants(actual, variants, scale=scale, rtol=rtol)
        + scaling_hint(actual, expected, scale=scale, rtol=rtol)
        + location_hints(comparison, regions)
        + rounding_hint(comparison, dtype)
    )


def matching_variants(
    actual: np.ndarray, variants: Iterable[Variant], *, scale: np.ndarray, rtol: float
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
    actual: np.ndarray, expected: np.ndarray, *, scale: np.ndarray, rtol: float
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
    """Hints for each named region (a boolean mask) that contains every mismatch.

    A region is only worth naming when it is a strict part of the output:
    callers leave out regions that cover everything.
    """
    wrong = comparison.mismatched
    found = []
    for description, region in regions:
        region = np.broadcast_to(region, wrong.shape)
        if wrong.any() and not (wrong & ~region).any():
            found.append(description)
    return found


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


def border_mask(shape: tuple[int, ...], widths: tuple[int, int]) -> np.ndarray:
    """True within ``widths`` rows/columns of the spatial edges of ``shape``."""
    height, width = shape[-2:]
    rows = np.zeros(height, dtype=bool)
    cols = np.zeros(width, dtype=bool)
    rows[: widths[0]] = rows[height - widths[0] :] = True
    cols[: widths[1]] = cols[width - widths[1] :] = True
    return rows[:, None] | cols[None, :]
