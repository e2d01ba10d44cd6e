"""The comparison that every property's verdict rests on."""

from __future__ import annotations

import numpy as np
import pytest

from cnnref.properties.compare import FLOAT32_RTOL, FLOAT64_RTOL, compare, rtol_for, summation_rtol


def test_agreement_within_tolerance_relative_to_scale() -> None:
    expected = np.array([1.0, 1e-20, -3.0])
    actual = expected + np.array([1e-12, 1e-12, 0.0])
    # The middle element is tiny only by cancellation: its terms summed to magnitude 10.
    comparison = compare(actual, expected, scale=np.array([1.0, 10.0, 3.0]), rtol=1e-10, name="y")
    assert comparison.passed, comparison.describe()


def test_reports_the_worst_mismatch_with_its_values() -> None:
    expected = np.zeros((2, 3))
    actual = expected.copy()
    actual[1, 2] = 0.5
    actual[0, 0] = 1e-3
    comparison = compare(actual, expected, scale=np.ones((2, 3)), rtol=1e-10, name="dx")
    assert not comparison.passed
    assert comparison.n_mismatched == 2
    assert comparison.worst_index == (1, 2)
    assert (comparison.expected, comparison.actual) == (0.0, 0.5)
    text = comparison.describe()
    for fragment in (
        "dx: 2 of 6 elements differ",
        "(1, 2)",
        "expected 0.0, got 0.5",
        "tolerance 1e-10",
    ):
        assert fragment in text, f"{fragment!r} missing from:\n{text}"


def test_nan_must_meet_nan_and_infinities_must_match() -> None:
    expected = np.array([np.nan, np.inf, -np.inf, 1.0])
    assert compare(expected.copy(), expected, scale=0.0, rtol=0.0, name="y").passed
    for position, wrong in [(0, 0.0), (1, -np.inf), (2, 1.0), (3, np.nan)]:
        actual = expected.copy()
        actual[position] = wrong
        comparison = compare(actual, expected, scale=0.0, rtol=0.0, name="y")
        assert comparison.n_mismatched == 1 and comparison.worst_index == (position,), (
            comparison.describe()
        )


def test_zero_scale_means_exact() -> None:
    comparison = compare(np.array([1e-300]), np.array([0.0]), scale=0.0, rtol=1e-10, name="dx")
    assert not comparison.passed
    assert "nothing is summed into this element" in comparison.describe()


def test_small_arrays_are_printed_whole_in_the_description() -> None:
    comparison = compare(
        np.array([[1.0, 2.0]]), np.array([[1.0, 3.0]]), scale=1.0, rtol=0.0, name="y"
    )
    text = comparison.describe()
    assert "expected y:" in text and "[[1. 3.]]" in text and "[[1. 2.]]" in text, text


def test_shapes_must_agree() -> None:
    with pytest.raises(ValueError, match=r"y: cannot compare shape \(2,\) with \(3,\)"):
        compare(np.zeros(2), np.zeros(3), scale=1.0, rtol=0.0, name="y")


def test_tolerances_separate_float64_rounding_from_float32_rounding() -> None:
    assert rtol_for("float64") == FLOAT64_RTOL
    assert rtol_for("float32") >= FLOAT32_RTOL
    float32_error = float(np.finfo(np.float32).eps)
    assert float32_error > 100 * rtol_for("float64", terms=100_000), (
        "float32 arithmetic must fail a float64 run"
    )
    assert summation_rtol("float64", 300, 10_000) < 1e-9
