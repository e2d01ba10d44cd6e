"""A hint that suggests a declaration is given only once the declaration is seen to hold
(cnnref.properties.suggestions), and the size a bug needs only once smaller ones were searched."""

from __future__ import annotations

import pytest

from cnnref.strategies import PoolCase
from cnnref.verify import check_example, verify

pytestmark = pytest.mark.slow  # each claim is a whole run

BLIND = "tests.candidates.blind_spots"


def _failure_text(target: str, prop: str, case) -> str:
    with pytest.raises(AssertionError) as failed:
        check_example(target, prop, case)
    return str(failed.value)


def test_zero_padding_is_not_suggested_where_the_forward_contradicts_it() -> None:
    """x = [-inf], kernel (1, 2), padding (0, 1): dx routes into the padding, as zero padding
    would; but the forward gives -inf there, where zero padding gives 0."""
    case = PoolCase(
        batch=1, channels=1, height=1, width=1, kernel_size=(1, 2), padding=(0, 1),
        values="neginf", seed=0,
    )  # fmt: skip
    assert case.arrays().x.ravel().tolist() == [float("-inf")], "the window must be all -inf"
    text = _failure_text(
        f"{BLIND}:neginf_padding_values", "max_pool2d_backward.matches_reference", case
    )
    assert "matches the convention pad_value='zeros'" in text  # what was seen is still said
    assert "declare CNNREF_CONVENTIONS = {'pad_value': 'zeros'}" not in text, text
    assert "declaring pad_value='zeros' would not pass: max_pool2d.matches_reference" in text
    # What the library does on purpose, named once it is seen to hold.
    assert "declare CNNREF_CONVENTIONS = {'pad_value': '-inf-competes'}" in text, text


def test_a_suggested_declaration_that_holds_is_still_suggested() -> None:
    case = PoolCase(
        batch=1, channels=1, height=1, width=2, kernel_size=(1, 2), values="ties", seed=1
    )
    text = _failure_text(
        "tests.candidates.conventions:ties_split_undeclared",
        "max_pool2d_backward.matches_reference",
        case,
    )
    assert "declare CNNREF_CONVENTIONS = {'ties': 'split'}" in text, text


def test_nan_ignore_is_not_suggested_for_nan_dropped_only_in_large_inputs() -> None:
    result = verify(
        f"{BLIND}:nan_dropped_when_large",
        properties=["max_pool2d.matches_reference"],
        examples=100,
        seed=0,
        dtype="float64",
    )
    (prop,) = result.properties
    assert prop.status == "failed", result.explain()
    hints = " ".join(prop.failure.hints)
    assert "pooling that skips NaN" in hints, hints  # what was seen
    assert "{'nan': 'ignore'}" not in hints, hints  # no remedy that then fails
    assert "declaring nan='ignore' would not pass" in hints, hints


def test_a_conservation_failure_says_where_the_gradient_should_have_gone() -> None:
    case = PoolCase(
        batch=1, channels=1, height=1, width=1, kernel_size=(1, 2), padding=(0, 1),
        values="neginf", seed=0,
    )  # fmt: skip
    text = _failure_text(
        f"{BLIND}:neginf_padding_values", "max_pool2d_backward.conservation_and_support", case
    )
    dy = case.arrays().dy.ravel()[0]
    assert f"it should have gone to dx[0, 0, 0, 0] ({dy:.4g})" in text, text


def test_a_nonfinite_value_turned_into_a_number_is_named() -> None:
    import numpy as np
    from cnnref.properties.hints import value_change_hints

    lowest = np.finfo(np.float32).min
    hints = value_change_hints(np.array([lowest, 2.0], np.float32), np.array([-np.inf, np.nan]))
    assert hints[0].startswith("-inf became -3.40282e+38, the lowest finite float32 value")
    assert hints[1].startswith("NaN became a number (2 at [1], 1 such)")
    assert value_change_hints(np.array([1.0]), np.array([2.0])) == []


def test_the_size_a_bug_needs_is_claimed_only_after_a_search_of_smaller_ones() -> None:
    from cnnref.verify.failures import still_needed

    big = PoolCase(batch=1, channels=1, height=41, width=41, kernel_size=(2, 2))
    assert "no smaller example failed than" in still_needed(big, sizes_searched=True)
    assert "no smaller example failed than" not in still_needed(big)


def test_a_failure_that_needs_a_feature_names_the_declaration() -> None:
    result = verify(
        f"{BLIND}:tiling_conv", properties=["conv2d.matches_reference"], examples=50, seed=0
    )
    (prop,) = result.properties
    assert prop.status == "failed", result.explain()
    hints = " ".join(prop.failure.hints)
    assert "declare CNNREF_UNSUPPORTED = {'stride'}" in hints, hints
    assert "docs/adapters.md#feature-and-convention-names" in hints


def test_a_pool_whose_padding_is_minus_inf_values_passes_as_declared() -> None:
    result = verify(
        f"{BLIND}:neginf_padding_declared",
        properties=[
            "max_pool2d_backward.matches_reference",
            "max_pool2d_backward.conservation_and_support",
            "max_pool2d_backward.finite_differences",
        ],
        examples=60,
        seed=0,
    )
    assert result.passed, result.explain()


def test_a_conv_that_needs_exact_tiling_passes_as_declared() -> None:
    result = verify(
        f"{BLIND}:tiling_conv_declared",
        properties=["conv2d.matches_reference", "conv2d.contract"],
        examples=50,
        seed=0,
    )
    assert result.passed, result.explain()
    (reference_result, _) = result.properties
    assert any("windows='exact'" in note for note in reference_result.not_covered)
