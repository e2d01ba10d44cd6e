"""Element-by-element comparison with a tolerance that rounding justifies.

An output of conv2d is a sum of products; summed directly, its rounding
error is bounded by the unit roundoff times the sum of the *magnitudes* of
those products, not by the magnitude of the result (which cancellation can
make arbitrarily small).  So every comparison here is relative to a
``scale`` array: the same op applied to absolute values
(``conv2d(|x|, |w|) + |b|``).

Fast algorithms (FFT, Winograd) transform whole planes or tiles before they
multiply, so their error is bounded in norm, not element by element: an
element's error can come from operands outside its own window.  Such
comparisons add a ``normwise`` term, an absolute tolerance per output plane
(``normwise_tolerance``).  An element fails when

    |actual - expected| > rtol * scale + normwise.

A result in a half format (float16, bfloat16) was accumulated in float32 and
rounded once to its own format, so it gets the float32 allowances plus
``rounding``: half an ulp of its format at each element's magnitude
(``cnnref.precision.half_ulp``), and an infinity is right where the exact value
reaches the format's overflow threshold.

``Comparison.describe()`` is the text a failing check shows: the worst
element (the largest error as a fraction of its tolerance) with expected and
actual values, the error against that tolerance and how many elements
differ.  The derivation of the constants is in docs/tolerances.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeVar, overload

import numpy as np

from .. import precision
from ..results import error_ratio

# Tolerances relative to ``scale``.  In float64 the worst-case rounding of a
# sum of K terms is K * 2**-53 * scale (about 6e-12 for K = 55,000 terms): an
# implementation that rounds through float32 anywhere is off by about 1e-7.
FLOAT64_RTOL = 1e-10
FLOAT32_RTOL = 1e-4


def rtol_for(dtype: np.dtype | str, terms: int = 1) -> float:
    """The relative tolerance for results of ``dtype`` that sum ``terms`` products.

    A half format sums in float32, so its sums get float32's tolerance; the rounding
    to the half format is ``compare``'s separate ``rounding`` term.  Under the declared
    convention accumulation="half" (``precision.ACCUMULATION``) they get gamma_K in the
    half format instead.
    """
    if precision.is_half(dtype) and precision.ACCUMULATION.get() == "half":
        return precision.half_sum_rtol(dtype, terms)
    if precision.accumulation_dtype(dtype) == np.float32:
        # Random rounding errors of a float32 sum grow like sqrt(terms).
        return max(FLOAT32_RTOL, 1e-5 * float(np.sqrt(terms)))
    return FLOAT64_RTOL


def unit_roundoff(dtype: np.dtype | str) -> float:
    return precision.unit_roundoff(dtype)


# The normwise term, NORMWISE_FACTOR * u * log2(L) * S, where S sums, over the
# pairs of planes (a, b) correlated into an output plane, min(||a||_2 ||b||_1,
# ||a||_1 ||b||_2), and L is the length of the transform (the padded plane).  It
# is the standard bound on a correlation computed through the FFT (Higham,
# Accuracy and Stability of Numerical Algorithms, 2nd ed., section 24.1: each
# transform has a normwise relative error of about log2(L) u, and the error of
# F^-1(Fa . conj(Fb)) is within C u log2(L) ||a||_2 ||b||_1); Winograd F(2x2, 3x3),
# whose transforms only add and halve within a 4x4 tile, is within it too.  The
# worst error of the FFT and Winograd test candidates over 2 x 1000 random
# geometries was 0.8 u log2(L) S (docs/tolerances.md): 16 leaves a margin of 20.
# In float64 the term is of the order of 2**-53 S, far below float32 rounding.
NORMWISE_FACTOR = 16.0


def normwise_tolerance(
    dtype: np.dtype | str, norm_scale: np.ndarray | float, length: int
) -> np.ndarray:
    """The absolute tolerance, per output plane, for an error bounded in norm.

    ``norm_scale`` is sum ||a||_2 ||b||_1 over the pairs of planes correlated into
    each output plane (ops/conv2d/scales.py), ``length`` the number of elements of the
    transformed (padded) plane.
    """
    accumulation = precision.accumulation_dtype(dtype)  # a half format's transforms run in float32
    factor = NORMWISE_FACTOR * unit_roundoff(accumulation) * float(np.log2(max(length, 2)))
    return factor * np.asarray(norm_scale, dtype=np.float64)


def summation_rtol(dtype: np.dtype | str, terms: int, outputs: int) -> float:
    """Tolerance for a scalar built from an op's outputs (an inner product, a finite difference).

    Each output sums ``terms`` products and the scalar sums ``outputs`` of
    them; rounding can accumulate along both.  The factor 64 leaves a wide
    margin while staying far below any real gradient error.
    """
    return 64 * (terms + float(np.sqrt(outputs))) * unit_roundoff(dtype)


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
    # At the worst element: the magnitude of the terms summed (scale) and the normwise term.
    magnitude: float = 0.0
    normwise: float = 0.0
    # At the worst element: half an ulp of the half format the result was rounded to (else 0).
    rounding: float = 0.0
    rounded_to: str = ""

    @property
    def passed(self) -> bool:
        return self.n_mismatched == 0

    @property
    def n_total(self) -> int:
        return int(np.prod(self.shape))

    @property
    def allowed(self) -> float:
        """The worst element's whole tolerance: rtol * magnitude + normwise + rounding."""
        return self.rtol * self.magnitude + self.normwise + self.rounding

    @property
    def ratio(self) -> float:
        """The worst element's error as a fraction of its tolerance: above 1 fails."""
        return error_ratio(self.abs_error, self.allowed)

    def describe(self) -> str:
        if self.passed:
            return (
                f"{self.name}: all {self.n_total} elements agree "
                f"(the worst error is {self.ratio:.3g} of its tolerance)"
            )
        lines = [
            f"{self.name}: {self.n_mismatched} of {self.n_total} elements differ",
            f"  worst at index {self.worst_index}: expected {self.expected!r}, got {self.actual!r}",
            *self._error_lines(),
        ]
        if self.expected_array is not None and self.actual_array is not None:
            lines += [f"  expected {self.name}:", *_array_lines(self.expected_array)]
            lines += [f"  got {self.name}:", *_array_lines(self.actual_array)]
        return "\n".join(lines)

    def _error_lines(self) -> list[str]:
        """The worst element's error against its tolerance, and what the tolerance is made of."""
        if self.allowed == 0:
            return [
                f"  absolute error {self.abs_error:.3g}; nothing is summed into this element, "
                "so any error is too much"
            ]
        parts = []
        if self.magnitude > 0:
            parts.append(
                f"rtol {self.rtol:.3g} x {self.magnitude:.3g}, the magnitude of the terms summed "
                f"(relative error {self.rel_error:.3g})"
            )
        if self.normwise > 0:
            parts.append(
                f"{self.normwise:.3g}, the normwise rounding allowance of this output plane"
                + ("" if self.magnitude > 0 else " (nothing is summed into this element)")
            )
        if self.rounding > 0:
            parts.append(f"{self.rounding:.3g}, half an ulp of {self.rounded_to} at this value")
        return [
            f"  absolute error {self.abs_error:.3g}, {self.ratio:.3g} times its tolerance "
            f"{self.allowed:.3g}",
            "  tolerance = " + " + ".join(parts),
        ]


# An array stays an array and an optional one optional, position by position (the overloads).
_Array = TypeVar("_Array", np.ndarray, "np.ndarray | None")
_Array2 = TypeVar("_Array2", np.ndarray, "np.ndarray | None")
_Array3 = TypeVar("_Array3", np.ndarray, "np.ndarray | None")
_Array4 = TypeVar("_Array4", np.ndarray, "np.ndarray | None")


@overload
def as_float64(a: _Array, /) -> tuple[_Array]: ...
@overload
def as_float64(a: _Array, b: _Array2, /) -> tuple[_Array, _Array2]: ...
@overload
def as_float64(a: _Array, b: _Array2, c: _Array3, /) -> tuple[_Array, _Array2, _Array3]: ...
@overload
def as_float64(
    a: _Array, b: _Array2, c: _Array3, d: _Array4, /
) -> tuple[_Array, _Array2, _Array3, _Array4]: ...
def as_float64(*arrays: np.ndarray | None) -> tuple[np.ndarray | None, ...]:
    """Each array in float64, where oracles and tolerances are computed (None stays None)."""
    return tuple(None if a is None else np.asarray(a, dtype=np.float64) for a in arrays)


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
    actual: np.ndarray,
    expected: np.ndarray,
    *,
    scale: np.ndarray | float,
    rtol: float,
    name: str,
    normwise: np.ndarray | float = 0.0,
    rounded_to: np.dtype | str | None = None,
) -> Comparison:
    """Compare ``actual`` with ``expected`` element by element.

    NaN must meet NaN and an infinity the same infinity; elsewhere an element
    fails when ``|actual - expected| > rtol * scale + normwise + rounding``
    (``normwise`` broadcasts: one absolute tolerance per output plane, say).
    ``rounding`` is half an ulp of ``rounded_to`` at the element's magnitude, where
    ``rounded_to`` is a half format: by default ``actual``'s own dtype if it is one
    (a half result rounded once), else none.  Shapes must already agree (a wrong
    shape is a contract failure, reported before values).
    """
    if rounded_to is None and precision.is_half(np.asarray(actual).dtype):
        rounded_to = np.asarray(actual).dtype
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise ValueError(f"{name}: cannot compare shape {actual.shape} with {expected.shape}")
    scale = np.broadcast_to(np.abs(np.asarray(scale, dtype=np.float64)), expected.shape)
    normwise = np.broadcast_to(np.abs(np.asarray(normwise, dtype=np.float64)), expected.shape)

    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        error = np.abs(actual - expected)
        special = ~np.isfinite(expected) | ~np.isfinite(actual)
        same_special = (actual == expected) | (np.isnan(actual) & np.isnan(expected))
        error = np.where(special, np.where(same_special, 0.0, np.inf), error)
        allowed = rtol * scale + normwise
        rounding = np.zeros(expected.shape)
        if rounded_to is not None:
            rounding = _rounding(expected, allowed, rounded_to)
            # A value whose exact result reaches the overflow threshold rounds to infinity.
            # Summed in the half format, any partial sum (at most ``scale``) may overflow,
            # with its own sign.
            reach = np.abs(expected) + allowed + rounding
            same_sign = np.sign(actual) == np.sign(expected)
            if precision.ACCUMULATION.get() == "half":
                reach, same_sign = np.maximum(reach, scale), True
            overflowed = (
                np.isinf(actual)
                & np.isfinite(expected)
                & same_sign
                & (reach >= precision.overflow_threshold(rounded_to))
            )
            error = np.where(overflowed, 0.0, error)
            allowed = allowed + rounding
        mismatched = error > allowed
        relative = np.where(error == 0, 0.0, error / scale)
        ratio = np.where(error == 0, 0.0, error / allowed)

    if expected.size == 0:
        return Comparison(name, expected.shape, rtol, 0, None, 0.0, 0.0, 0.0, 0.0, mismatched)
    # The worst element: the largest error as a fraction of its tolerance among the
    # mismatches, if any (an error where nothing is allowed ranks first).
    ranking = np.where(mismatched, ratio, -1.0) if mismatched.any() else ratio
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
        magnitude=float(scale[worst]),
        normwise=float(normwise[worst]),
        rounding=float(rounding[worst]),
        rounded_to="" if rounded_to is None else np.dtype(rounded_to).name,
    )


def _rounding(expected: np.ndarray, allowed: np.ndarray, dtype: np.dtype | str) -> np.ndarray:
    """Half an ulp of ``dtype`` at each element: at the float32 sum's largest possible
    magnitude, |expected| + what its accumulation may have added."""
    magnitude = np.where(np.isfinite(expected), np.abs(expected), 0.0) + allowed
    return precision.half_ulp(np.where(np.isfinite(magnitude), magnitude, 0.0), dtype)


def assert_close(
    actual: np.ndarray,
    expected: np.ndarray,
    *,
    scale: np.ndarray | float,
    rtol: float,
    name: str,
    normwise: np.ndarray | float = 0.0,
) -> Comparison:
    """``compare``, raising AssertionError with the description when elements differ."""
    comparison = compare(actual, expected, scale=scale, rtol=rtol, name=name, normwise=normwise)
    if not comparison.passed:
        raise AssertionError(comparison.describe())
    return comparison
