"""Element-by-element comparison with a tolerance that rounding justifies.

An output of conv2d is a sum of products; its rounding error is bounded by
the unit roundoff times the sum of the *magnitudes* of those products, not
by the magnitude of the result (which cancellation can make arbitrarily
small).  So every comparison here is relative to a ``scale`` array: the same
op applied to absolute values (``conv2d(|x|, |w|) + |b|``).  An element
fails when ``|actual - expected| > rtol * scale``.

``Comparison.describe()`` is the text a failing check shows: the worst
element with expected and actual values, the errors against the tolerance,
and how many elements differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Tolerances relative to ``scale``.  In float64 the worst-case rounding of a
# sum of K terms is K * 2**-53 * scale (about 6e-12 for K = 55,000 terms): an
# implementation that rounds through float32 anywhere is off by about 1e-7.
FLOAT64_RTOL = 1e-10
FLOAT32_RTOL = 1e-4


def rtol_for(dtype: np.dtype | str, terms: int = 1) -> float:
    """The relative tolerance for results of ``dtype`` that sum ``terms`` products."""
    if np.dtype(dtype) == np.float32:
        # Random rounding errors of a float32 sum grow like sqrt(terms).
        return max(FLOAT32_RTOL, 1e-5 * float(np.sqrt(terms)))
    return FLOAT64_RTOL


def summation_rtol(dtype: np.dtype | str, terms: int, outputs: int) -> float:
    """Tolerance for a scalar built from an op's outputs (an inner product, a finite difference).

    Each output sums ``terms`` products and the scalar sums ``outputs`` of
    them; rounding can accumulate along both.  The factor 64 leaves a wide
    margin while staying far below any real gradient error.
    """
    unit = float(np.finfo(dtype).eps) / 2
    return 64 * (terms + float(np.sqrt(outputs))) * unit


@dataclass(frozen=True)
class Comparison:
    """The outcome of comparing one output array with what it should be."""

    name: str
    shape: tuple[int, ...]
    rtol: float
    n_mismatched: int
    worst_index: tuple[int, ...] | None
    expected: float
    actual: float
    abs_error: float
    rel_error: float  # |actual - expected| / scale at the worst element (inf where scale is 0)
    mismatched: np.ndarray = field(repr=False, compare=False)
    # Whole arrays, kept only when small enough to print in a failure message.
    expected_array: np.ndarray | None = field(default=None, repr=False, compare=False)
    actual_array: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.n_mismatched == 0

    @property
    def n_total(self) -> int:
        return int(np.prod(self.shape))

    def describe(self) -> str:
        if self.passed:
            return f"{self.name}: all {self.n_total} elements agree (worst relative error {self.rel_error:.3g})"
        relative = (
            "nothing is summed into this element, so any error is too much"
            if np.isinf(self.rel_error)
            else f"relative error {self.rel_error:.3g} (tolerance {self.rtol:.3g}, relative to the "
            "magnitude of the terms summed)"
        )
        lines = [
            f"{self.name}: {self.n_mismatched} of {self.n_total} elements differ",
            f"  worst at index {self.worst_index}: expected {self.expected!r}, got {self.actual!r}",
            f"  absolute error {self.abs_error:.3g}; {relative}",
        ]
        if self.expected_array is not None:
            lines += [f"  expected {self.name}:", *_array_lines(self.expected_array)]
            lines += [f"  got {self.name}:", *_array_lines(self.actual_array)]
        return "\n".join(lines)


# Arrays up to this many elements are printed whole in failure messages.
PRINTABLE_SIZE = 36


def _array_lines(array: np.ndarray) -> list[str]:
    text = np.array2string(np.asarray(array), precision=6, suppress_small=False, max_line_width=96)
    return ["    " + line for line in text.splitlines()]


def describe_inputs(inputs: dict[str, np.ndarray | None]) -> str:
    """The inputs of a small example, printed whole; empty when any is too large to read."""
    arrays = {name: value for name, value in inputs.items() if value is not None}
    if not arrays or any(np.size(value) > PRINTABLE_SIZE for value in arrays.values()):
        return ""
    lines = ["inputs:"]
    for name, value in arrays.items():
        lines += [f"  {name} =", *_array_lines(value)]
    return "\n".join(lines)


def compare(
    actual: np.ndarray, expected: np.ndarray, *, scale: np.ndarray, rtol: float, name: str
) -> Comparison:
    """Compare ``actual`` with ``expected`` element by element.

    NaN must meet NaN and an infinity the same infinity; elsewhere an element
    fails when ``|actual - expected| > rtol * scale``.  Shapes must already
    agree (a wrong shape is a contract failure, reported before values).
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.broadcast_to(np.abs(np.asarray(scale, dtype=np.float64)), expected.shape)
    if actual.shape != expected.shape:
        raise ValueError(f"{name}: cannot compare shape {actual.shape} with {expected.shape}")

    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        error = np.abs(actual - expected)
        special = ~np.isfinite(expected) | ~np.isfinite(actual)
        same_special = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
        error = np.where(special, np.where(same_special, 0.0, np.inf), error)
        mismatched = error > rtol * scale
        relative = np.where(error == 0, 0.0, error / np.where(scale > 0, scale, 0.0))

    if expected.size == 0:
        return Comparison(name, expected.shape, rtol, 0, None, 0.0, 0.0, 0.0, 0.0, mismatched)
    # The worst element: the largest relative error among the mismatches, if any.
    ranking = np.where(mismatched, relative, -1.0) if mismatched.any() else relative
    worst = tuple(int(i) for i in np.unravel_index(np.argmax(ranking), expected.shape))
    return Comparison(
        name=name,
        shape=expected.shape,
        rtol=rtol,
        n_mismatched=int(mismatched.sum()),
        worst_index=worst,
        expected=float(expected[worst]),
        actual=float(actual[worst]),
        abs_error=float(error[worst]),
        rel_error=float(relative[worst]),
        mismatched=mismatched,
        expected_array=expected if expected.size <= PRINTABLE_SIZE else None,
        actual_array=actual if expected.size <= PRINTABLE_SIZE else None,
    )


def assert_close(
    actual: np.ndarray, expected: np.ndarray, *, scale: np.ndarray, rtol: float, name: str
) -> Comparison:
    """``compare``, raising AssertionError with the description when elements differ."""
    comparison = compare(actual, expected, scale=scale, rtol=rtol, name=name)
    if not comparison.passed:
        raise AssertionError(comparison.describe())
    return comparison
