"""Failures explain themselves: the hint names the bug, and the printed reproduction reproduces it."""

from __future__ import annotations

import pytest

from cnnref.verify import check_example, verify
from tests.candidates.catalogue import BUGS

# bug -> (the property that names it, words its explanation must contain)
EXPLAINED = {
    "flip_kernel": (
        "conv2d.matches_reference",
        "true convolution, with the kernel rotated by 180 degrees",
    ),
    "stride_axes_swapped": ("conv2d.matches_reference", "stride axes swapped"),
    "padding_one_side": ("conv2d.matches_reference", "padding applied on one side only"),
    "dilation_ignored": ("conv2d.matches_reference", "dilation ignored"),
    "groups_read_first_block": (
        "conv2d.matches_reference",
        "only output channels after the first group are wrong",
    ),
    "bias_first_item_only": (
        "conv2d.matches_reference",
        "only batch items after the first are wrong",
    ),
    "float32_accumulator": ("conv2d.matches_reference", "float32 rounding size"),
    "assumes_contiguous": ("conv2d.matches_reference", "assumes C-contiguous memory"),
    "dx_kernel_rotated": (
        "conv2d_backward.matches_reference",
        "gradient for the kernel rotated by 180 degrees",
    ),
    "dx_overlap_assigned": (
        "conv2d_backward.matches_reference",
        "must be added (+=), not assigned",
    ),
    "dw_mean_over_batch": ("conv2d_backward.matches_reference", "dw is the batch mean"),
    "db_mean": ("conv2d_backward.matches_reference", "db is a mean"),
    "dw_whole_chunks_only": ("conv2d_backward.matches_reference", "could not shrink away batch=33"),
    "ties_last": ("max_pool2d_backward.matches_reference", "FIRST maximum"),
    "nan_first": ("max_pool2d_backward.matches_reference", "LAST NaN"),
    "nan_ignored": ("max_pool2d.matches_reference", "a window containing NaN has maximum NaN"),
    "nan_to_inf_in_place": ("max_pool2d_backward.contract", "modified its argument 2 in place"),
    "neginf_to_tap_zero": ("max_pool2d_backward.matches_reference", "entirely -inf"),
    "zero_padding": ("max_pool2d.matches_reference", "zero-padded input"),
    "ceil_mode_ignored": ("max_pool2d.matches_reference", "ceil_mode=False (floor) gives"),
    "stride_none_means_one": (
        "max_pool2d.matches_reference",
        "stride=None means stride = kernel_size",
    ),
    "overlap_assigned": (
        "max_pool2d_backward.matches_reference",
        "ADD its gradient (+=), not assign it",
    ),
    "index_uint8": ("max_pool2d_backward.matches_reference", "41x41 input"),
    "pool_view_for_unit_kernel": ("max_pool2d.contract", "sharing memory with its argument 1"),
    "pool_backward_float32": ("max_pool2d_backward.contract", "dtype float32; expected float64"),
}


def test_every_explained_bug_is_in_the_catalogue() -> None:
    assert set(EXPLAINED) <= set(BUGS)


@pytest.mark.parametrize("bug", EXPLAINED)
def test_the_explanation_names_the_bug(bug: str) -> None:
    prop, words = EXPLAINED[bug]
    result = verify(f"tests.candidates.catalogue:{bug}", properties=[prop], seed=0)
    (outcome,) = result.properties
    assert not outcome.passed, f"{prop} passed on {bug}"
    text = outcome.explain()
    assert words in text, f"{bug}: expected {words!r} in\n{text}"


def test_the_printed_reproduction_reproduces_the_failure() -> None:
    result = verify(
        "tests.candidates.catalogue:ties_last",
        properties=["max_pool2d_backward.matches_reference"],
        seed=0,
    )
    failure = result.properties[0].failure
    assert failure.case.startswith("PoolCase(") and "values=" in failure.case
    with pytest.raises(
        AssertionError, match=r"max_pool2d_backward.matches_reference \(falsified\)"
    ) as raised:
        exec(failure.reproduce_snippet, {})
    assert "FIRST maximum" in str(raised.value)


def test_check_example_passes_quietly_on_a_correct_candidate() -> None:
    from cnnref.strategies import ConvCase

    check_example(
        "cnnref",
        "conv2d_backward.matches_reference",
        ConvCase(2, 4, 4, 7, 6, (3, 2), stride=(2, 1), groups=2),
    )


def test_a_shrunk_example_is_small() -> None:
    result = verify(
        "tests.candidates.catalogue:flip_kernel", properties=["conv2d.matches_reference"], seed=0
    )
    failure = result.properties[0].failure
    fields = failure.case_fields
    assert fields["batch"] == 1 and fields["in_channels"] == 1 and fields["out_channels"] == 1, (
        failure.case
    )
    assert fields["kernel_size"][0] * fields["kernel_size"][1] == 2, (
        "a flip needs a kernel of two taps"
    )
    assert "worst at index" in failure.message and "expected" in failure.message
