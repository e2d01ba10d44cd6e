"""Name a half-precision bug from the pattern of its errors (float16 and bfloat16 results).

A correct half result is within half an ulp of the exact value (plus float32's tiny
accumulation term).  Three wrong ways of getting there leave their own marks:

* an overflow: an infinity where the exact result is well inside the format's range;
* truncation: every wrong element moved toward zero, by less than one ulp;
* accumulation in the half format: errors past one rounding, yet of the format's
  rounding size relative to the magnitude of the terms summed.
"""

from __future__ import annotations

import numpy as np

from ..precision import finfo, half_ulp, is_half, overflow_threshold, unit_roundoff
from .compare import Comparison


def half_precision_hints(
    comparison: Comparison,
    actual: np.ndarray,
    expected: np.ndarray,
    scale: np.ndarray | float,
    dtype: str,
) -> list[str]:
    """What the errors of a failed half-format comparison point at (empty otherwise)."""
    if not is_half(dtype) or comparison.passed:
        return []
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), expected.shape)
    wrong = comparison.mismatched
    name = comparison.name
    overflow = wrong & np.isinf(actual) & np.isfinite(expected)
    if overflow.any():
        largest = float(np.max(np.abs(expected[overflow])))
        return [
            f"{name} overflowed to inf where the exact result is at most {largest:.6g}, inside "
            f"{dtype}'s range (inf from {overflow_threshold(dtype):.6g}): an intermediate was "
            f"formed in {dtype} before it was scaled down, e.g. a pooling window summed in "
            f"{dtype} before the division; sum in float32, round the quotient once"
        ]
    finite = np.isfinite(actual) & np.isfinite(expected)
    judged = wrong & finite
    if not judged.any():
        return []
    tiny = float(finfo(dtype).smallest_normal)
    if np.all((actual[judged] == 0) & (np.abs(expected[judged]) < tiny)):
        return [
            f"{name} is 0 where the exact result is a subnormal {dtype}: the kernel flushes "
            "subnormals to zero (FTZ/DAZ); if it does so on purpose, declare "
            "CNNREF_UNSUPPORTED = {'subnormal'}"
        ]
    error = np.abs(actual - expected)
    ulp = 2 * half_ulp(np.abs(expected), dtype)
    f32_slack = comparison.rtol * scale
    toward_zero = (np.abs(actual) <= np.abs(expected) + f32_slack) & (error < ulp + f32_slack)
    found = []
    if toward_zero[finite].all():
        found.append(
            f"every wrong element of {name} lies toward zero of the exact value, by less than "
            f"one ulp: the float32 result is truncated to {dtype} (its low bits dropped) "
            "instead of rounded to nearest even"
        )
        if judged.sum() > 1:  # more than one element, all toward zero: that is no sum's error
            return found
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = float(np.max(np.where(judged, error / scale, 0.0)))
    u = unit_roundoff(dtype)
    if u / 8 < relative < 64 * u:
        where = (
            "dw's sum over the batch (and the output positions) is accumulated in "
            f"{dtype}, one batch item at a time"
            if name == "dw"
            else f"{name}'s sum is accumulated in {dtype}: partial sums over channels, taps "
            "or overlapping windows are rounded as they are added"
        )
        found.append(
            f"the errors are of {dtype} rounding size relative to the terms summed (relative "
            f"{relative:.2g}, u = {u:.2g}), beyond one rounding: {where}; accumulate in float32 "
            f"and round once (or declare CNNREF_CONVENTIONS = {{'accumulation': 'half'}})"
        )
    return found
