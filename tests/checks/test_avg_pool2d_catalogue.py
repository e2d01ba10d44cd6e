"""avg_pool2d's bug catalogue (tests/candidates/avg_pool2d_student.py): where each bug is
pinned, and what only this catalogue checks (its reproduction, the student without bugs, a
summed-area table's NaN).

Each bug's default run of the op (both functions), and the checks every catalogue shares, are
in test_catalogues.py; the candidate runs in this process (``isolate=False``) to keep them
fast, and the conv2d and max_pool2d catalogue covers isolation.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from cnnref.checks import PROPERTIES
from cnnref.ops import GROUPS
from cnnref.verify import declare
from tests.candidates.avg_pool2d_student import BUGS
from tests.support.catalogue import Catalogue, default_run, quietly

pytestmark = pytest.mark.slow  # a whole verification per catalogued bug

STUDENT = "tests.candidates.avg_pool2d_student"
OP = GROUPS["avg_pool"]  # avg_pool2d and avg_pool2d_backward
# A divisor is a factor: a wrong one may also read as "the result times c everywhere".
FACTOR = "a missing or extra factor"

# bug -> (the property pinned to catch it, phrases that describe it: the explanation must
# contain one, and every hint that fires must contain one or be a NEUTRAL statement).
CAUGHT = {
    "divisor_kernel_area": ("avg_pool2d.matches_reference", ["kh*kw", FACTOR]),
    "count_include_pad_ignored": (
        "avg_pool2d.matches_reference",
        ["y matches count_include_pad=False", FACTOR],
    ),
    "overhang_counted": (
        "avg_pool2d.matches_reference",
        ["positions inside the padded input only", FACTOR],
    ),
    "divisor_override_ignored": (
        "avg_pool2d.matches_reference",
        ["y matches ignoring divisor_override", FACTOR],
    ),
    "stride_none_means_one": (
        "avg_pool2d.matches_reference",
        ["stride=None means stride = kernel_size"],
    ),
    "ceil_mode_ignored": ("avg_pool2d.matches_reference", ["ceil_mode=False (floor)"]),
    "ceil_mode_keeps_last_window": (
        "avg_pool2d.matches_reference",
        ["a last window that starts past the input"],
    ),
    "backward_kernel_area": ("avg_pool2d_backward.matches_reference", ["kh*kw", FACTOR]),
    "backward_overlap_assigned": (
        "avg_pool2d_backward.matches_reference",
        ["ADD its share dY / divisor (+=), not assign it"],
    ),
}


CATALOGUE = Catalogue(
    name="avg_pool2d",
    module=STUDENT,
    bugs=BUGS,
    caught=CAUGHT,
    cases=("AvgPoolCase(",),
    whole_op=True,
    isolate=False,
    falsified=True,
)


def test_every_bug_is_pinned_to_a_property_of_the_op() -> None:
    assert set(CAUGHT) == set(BUGS)
    names = {prop.name for prop in PROPERTIES if prop.function in OP}
    assert len(names) == 8
    for bug, (prop, _) in CAUGHT.items():
        assert prop in names, f"{bug} is pinned to {prop}"


def test_the_printed_reproduction_reproduces_the_failure() -> None:
    failure = default_run(CATALOGUE, "count_include_pad_ignored").properties[-1].failure
    with pytest.raises(
        AssertionError, match=r"avg_pool2d.matches_reference \(falsified\)"
    ) as raised:
        exec(failure.reproduce_snippet, {})
    assert "count_include_pad=False" in str(raised.value)


@pytest.mark.usefixtures("torch_required")
def test_the_student_without_bugs_passes_every_property_of_the_op() -> None:
    # Half the default examples: every property of the op still draws each divisor rule.
    result = quietly(candidate=f"{STUDENT}:correct", ops=["avg_pool"], examples=50)
    assert [p.name for p in result.properties] == [p.name for p in PROPERTIES if p.function in OP]
    assert all(p.status == "passed" for p in result.properties), result.explain()


def summed_area_table(*, unsupported: set[str]) -> SimpleNamespace:
    """A fast avg_pool2d from a summed-area table: each window's sum is four lookups,
    S[bottom, right] - S[top, right] - S[bottom, left] + S[top, left].  Right for finite
    inputs (up to rounding), but one inf or NaN in x makes S inf or NaN from there on, and
    inf - inf is NaN: it reaches windows that never held it.  No padding nor ceil_mode."""

    def pair(value):
        return (value, value) if isinstance(value, int) else tuple(value)

    def avg_pool2d(
        x,
        kernel_size,
        stride=None,
        padding=0,
        ceil_mode=False,
        count_include_pad=True,
        divisor_override=None,
    ):
        (kh, kw), (sh, sw) = pair(kernel_size), pair(kernel_size if stride is None else stride)
        table = np.zeros((*x.shape[:2], x.shape[2] + 1, x.shape[3] + 1), dtype=x.dtype)
        with np.errstate(invalid="ignore"):
            table[:, :, 1:, 1:] = x.cumsum(axis=2).cumsum(axis=3)
            top = np.arange((x.shape[2] - kh) // sh + 1)[:, None] * sh
            left = np.arange((x.shape[3] - kw) // sw + 1)[None, :] * sw
            total = (
                table[:, :, top + kh, left + kw]
                - table[:, :, top, left + kw]
                - table[:, :, top + kh, left]
                + table[:, :, top, left]
            )
            return total / x.dtype.type(divisor_override or kh * kw)

    candidate = SimpleNamespace(avg_pool2d=avg_pool2d)
    return declare(candidate, unsupported={"pool_padding", "ceil_mode", *unsupported})


def test_nan_and_inf_in_x_catch_a_summed_area_table_and_the_hint_says_why() -> None:
    """The table is a realistic fast path that finite inputs cannot tell from a correct one."""
    options = {"properties": ["avg_pool2d.matches_reference"], "dtype": "float64"}
    finite_only = quietly(candidate=summed_area_table(unsupported={"nonfinite_x"}), **options)
    assert finite_only.passed, finite_only.explain()
    (outcome,) = quietly(candidate=summed_area_table(unsupported=set()), **options).properties
    assert outcome.status == "failed" and "x_values='nonfinite'" in outcome.failure.case
    assert any("integral image" in hint for hint in outcome.failure.hints), outcome.explain()
