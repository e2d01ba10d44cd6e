"""Honest verdicts: nothing checked is no pass, and a backward is never blamed for its forward."""

from __future__ import annotations

import pytest

from cnnref.verify import SelectionError, verify
from cnnref.verify.cli import summary_table

pytestmark = pytest.mark.slow  # verifies candidates in fresh processes

CATALOGUE = "tests.candidates.catalogue"


def test_a_run_that_checks_nothing_does_not_pass() -> None:
    # limited.py has conv2d and max_pool2d, no backward functions.
    result = verify("tests.candidates.limited", ops=["conv2d_backward", "max_pool2d_backward"])
    assert {p.status for p in result.properties} == {"not covered"}
    assert not result.checked and not result.passed
    table = summary_table(result)
    assert "FAILED (nothing checked)" in table, table
    assert "does not expose max_pool2d_backward" in table, "the summary says why"
    assert "NOTHING CHECKED" in result.explain()


def test_a_selection_that_matches_no_property_is_a_usage_error() -> None:
    with pytest.raises(SelectionError, match="nothing would be checked"):
        verify("cnnref", ops=["pool"], properties=["conv2d.matches_reference"])


def test_the_backward_is_not_blamed_for_a_wrong_forward() -> None:
    """A zero-padding max pool forward fails; its correct backward must not."""
    result = verify(f"{CATALOGUE}:pool_forward_zero_padding", ops=["pool"], seed=0, examples=60)
    status = {p.name: p for p in result.properties}
    assert status["max_pool2d.matches_reference"].status == "failed"
    for name in (
        "max_pool2d_backward.finite_differences",
        "max_pool2d_backward.conservation_and_support",
    ):
        prop = status[name]
        assert prop.status == "passed", prop.explain()
        notes = " ".join(prop.not_covered)
        assert "not checked: the forward is wrong on this example" in notes, prop.not_covered
        assert "see max_pool2d.matches_reference" in notes


def test_a_forward_of_the_wrong_shape_is_the_candidates_failure_not_cnnrefs() -> None:
    result = verify(f"{CATALOGUE}:conv_forward_wrong_shape", ops=["conv"], seed=0, examples=10)
    status = {p.name: p for p in result.properties}
    assert "error" not in {p.status for p in result.properties}, result.explain()
    assert "returned y of shape" in status["conv2d.matches_reference"].failure.message
    for name in ("conv2d_backward.finite_differences", "conv2d_backward.adjointness"):
        assert status[name].status == "not covered", status[name].explain()
        assert any("forward is wrong" in reason for reason in status[name].not_covered)


def test_shape_hints_rule_out_mistakes_whose_values_differ_and_survive_odd_dtypes() -> None:
    import numpy as np

    from cnnref.checks.hints import shape_evidence

    actual = np.ones((1, 2))
    mistakes = {
        "A": ((1, 2), lambda: np.zeros((1, 2))),  # computed, and different: ruled out
        "B": ((1, 2), None),  # unknown values: still a lead
    }
    assert shape_evidence(actual, expected_shape=(1, 1), mistakes=mistakes) == [
        "the output shape is what you get with B"
    ]
    strings = np.array([["a", "b"]])  # a wrong shape and a wrong dtype: a hint, not a crash
    assert shape_evidence(strings, expected_shape=(1, 1), mistakes=mistakes) == [
        "the output shape is what you get with B"
    ]


def test_the_summary_has_one_line_per_op_not_exposed_and_says_where_features_are_not_drawn():
    result = verify(
        "tests.candidates.cs231n:convolution",
        ops=["conv", "pool", "avg_pool"],
        properties=None,
        examples=2,
        seed=0,
    )
    table = summary_table(result)
    lines = [line for line in table.splitlines() if "does not expose" in line]
    assert len(lines) == 2, table  # max_pool2d and avg_pool2d, one line each
    assert any("does not expose max_pool2d, max_pool2d_backward: " in line for line in lines), table
    assert (
        "not drawn (declared unsupported): bfloat16, dilation, float16, groups, non_square_geometry in conv2d, "
        "conv2d_backward" in table
    ), table


def test_a_property_description_follows_the_declared_convention() -> None:
    result = verify(
        "tests.candidates.conventions:ties_split",
        properties=["max_pool2d_backward.matches_reference"],
        examples=3,
        seed=0,
    )
    (prop,) = result.properties
    assert "as PyTorch does" not in prop.summary
    assert "routed as declared (ties=split)" in prop.summary, prop.summary
