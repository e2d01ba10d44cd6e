"""The comparison that every property's verdict rests on."""

from __future__ import annotations

import numpy as np
import pytest

from cnnref import reference
from cnnref.checks.compare import (
    FLOAT32_RTOL,
    FLOAT64_RTOL,
    NORMWISE_FACTOR,
    compare,
    normwise_tolerance,
    rtol_for,
    summation_rtol,
)
from cnnref.ops.conv2d.scales import (
    conv2d_backward_norm_scales,
    conv2d_backward_scales,
    conv2d_norm_scale,
    conv2d_scale,
)


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
        "absolute error 0.5, 5e+09 times its tolerance 1e-10",
        "tolerance = rtol 1e-10 x 1, the magnitude of the terms summed (relative error 0.5)",
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


def test_the_normwise_term_is_added_to_every_element_of_its_plane() -> None:
    expected = np.zeros((1, 2, 1, 2))
    actual = np.array([[[[1e-3, 0.0]], [[1e-3, 0.0]]]])
    scale = np.array([[[[0.0, 1.0]], [[0.0, 1.0]]]])
    # Plane 0 allows 2e-3 beyond the elementwise bound, plane 1 nothing.
    normwise = np.array([2e-3, 0.0]).reshape(1, 2, 1, 1)
    comparison = compare(actual, expected, scale=scale, rtol=1e-10, name="y", normwise=normwise)
    assert comparison.n_mismatched == 1 and comparison.worst_index == (0, 1, 0, 0)
    assert compare(actual, expected, scale=scale, rtol=1e-10, name="y", normwise=2e-3).passed


def test_an_element_nothing_is_summed_into_may_carry_the_normwise_rounding() -> None:
    comparison = compare(
        np.array([1e-3]), np.array([0.0]), scale=0.0, rtol=1e-10, name="y", normwise=1e-4
    )
    assert not comparison.passed
    assert (comparison.allowed, comparison.ratio) == (1e-4, pytest.approx(10.0))
    text = comparison.describe()
    for fragment in (
        "absolute error 0.001, 10 times its tolerance 0.0001",
        "tolerance = 0.0001, the normwise rounding allowance of this output plane "
        "(nothing is summed into this element)",
    ):
        assert fragment in text, f"{fragment!r} missing from:\n{text}"
    assert "any error is too much" not in text


def test_the_ratio_is_the_error_over_the_whole_tolerance_and_picks_the_worst_element() -> None:
    expected = np.zeros(3)
    actual = np.array([4e-10, 3e-10, 0.0])
    scale = np.array([1.0, 1.0, 1.0])
    # Element 0 has the larger error, but element 1 the smaller tolerance.
    normwise = np.array([1e-9, 0.0, 0.0])
    comparison = compare(actual, expected, scale=scale, rtol=1e-10, name="y", normwise=normwise)
    assert comparison.worst_index == (1,)
    assert comparison.ratio == pytest.approx(3.0)
    assert comparison.allowed == pytest.approx(1e-10)
    passing = compare(actual, expected, scale=scale, rtol=1e-9, name="y", normwise=normwise)
    assert passing.passed and passing.worst_index == (1,)
    assert passing.ratio == pytest.approx(0.3)
    assert "the worst error is 0.3 of its tolerance" in passing.describe()


def test_normwise_tolerance_is_the_documented_bound() -> None:
    for dtype in ("float64", "float32"):
        unit = float(np.finfo(dtype).eps) / 2
        got = normwise_tolerance(dtype, np.array([2.0]), 1024)
        assert got == pytest.approx([NORMWISE_FACTOR * unit * 10 * 2.0])
    # A one-element plane still gets one level of rounding.
    assert normwise_tolerance("float64", 1.0, 1) == normwise_tolerance("float64", 1.0, 2)


def test_float32_rounding_stays_far_outside_the_float64_normwise_term() -> None:
    # On a 40x40 plane of 16 channels, the normwise term in float64 is still a hundred
    # times smaller than one float32 rounding of the result.
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((1, 16, 40, 40)), rng.standard_normal((1, 16, 3, 3))
    y = reference.conv2d(x, w)
    rounded = y.astype(np.float32).astype(np.float64)
    normwise = normwise_tolerance("float64", conv2d_norm_scale(x, w), 40 * 40)
    assert 100 * normwise.max() < np.max(np.abs(rounded - y))


GEOMETRIES = [
    {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1},
    {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1), "groups": 2},
    {"stride": (1, 3), "padding": (2, 0), "dilation": (1, 2), "groups": 3},
]


@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_norm_scales_bound_every_elementwise_scale_of_their_plane(geometry: dict) -> None:
    rng = np.random.default_rng(1)
    groups = geometry["groups"]
    x = rng.standard_normal((2, 2 * groups, 7, 9)) * 10.0 ** rng.integers(
        -3, 4, (2, 2 * groups, 7, 9)
    )
    w = rng.standard_normal((3 * groups, 2, 3, 2))
    y_scale = conv2d_scale(x, w, None, **geometry)
    dy = rng.standard_normal(y_scale.shape)
    pairs = [(conv2d_norm_scale(x, w, groups=groups), y_scale)]
    norm_dx, norm_dw, _ = conv2d_backward_norm_scales(dy, x, w, groups=groups)
    dx_scale, dw_scale, _ = conv2d_backward_scales(dy, x, w, None, **geometry)
    pairs += [(norm_dx, dx_scale), (norm_dw, dw_scale)]
    for norm, scale in pairs:
        assert norm.shape == (*scale.shape[:2], 1, 1)
        # Hoelder: each output sums |a||b| over a window, at most ||a||_2 ||b||_1 (or
        # ||a||_1 ||b||_2) per pair of planes.
        assert np.all(scale.max(axis=(2, 3), keepdims=True) <= norm * (1 + 1e-12))


def test_norm_scale_of_one_plane_pair_is_the_smaller_hoelder_product() -> None:
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # ||x||_2 = sqrt(285), ||x||_1 = 45
    w = np.array([[[[3.0, -4.0]]]])  # ||w||_2 = 5, ||w||_1 = 7
    assert conv2d_norm_scale(x, w).item() == pytest.approx(min(np.sqrt(285) * 7, 45 * 5))


def test_a_non_finite_operand_leaves_the_norm_scale_finite() -> None:
    x = np.ones((1, 1, 3, 3))
    x[0, 0, 1, 1] = np.nan
    x[0, 0, 0, 0] = np.inf
    w = np.ones((1, 1, 2, 2))
    scale = conv2d_norm_scale(x, w)
    assert np.isfinite(scale).all() and scale.item() == pytest.approx(min(np.sqrt(7) * 4, 7 * 2))
    dx, dw, _ = conv2d_backward_norm_scales(np.full((1, 1, 2, 2), np.nan), x, w)
    assert (dx == 0).all() and (dw == 0).all()
