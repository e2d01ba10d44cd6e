"""The adaptive pools' bug catalogue (tests/candidates/adaptive_pool2d_student.py): where each
bug is pinned, and what only this catalogue checks (its reproduction, the student without
bugs).

Each bug's default run of its op, and the checks every catalogue shares, are in
test_catalogues.py; there a hint must name each of these bugs.  The candidate runs in this
process (``isolate=False``) to keep them fast; the conv2d and max_pool2d catalogue covers
isolation.
"""

from __future__ import annotations

import pytest

from cnnref.checks import PROPERTIES
from cnnref.ops import GROUPS
from tests.candidates.adaptive_pool2d_student import BUGS
from tests.support.catalogue import Catalogue, default_run, quietly

pytestmark = pytest.mark.slow  # a whole verification per catalogued bug

STUDENT = "tests.candidates.adaptive_pool2d_student"
WINDOW_END = "the windows end at floor((i + 1) * n / O), not ceil"

# bug -> (the property pinned to catch it, phrases that describe it: a hint must contain one,
# and every hint that fires must contain one or be a NEUTRAL statement).
CAUGHT = {
    "end_floor": ("adaptive_avg_pool2d.matches_reference", [WINDOW_END]),
    "start_ceil": ("adaptive_avg_pool2d.matches_reference", ["start at ceil(i * n / O)"]),
    "fixed_windows": ("adaptive_avg_pool2d.matches_reference", ["windows of n // O elements"]),
    "export_formula": ("adaptive_avg_pool2d.matches_reference", ["one window size for every cell"]),
    "divisor_largest_window": (
        "adaptive_avg_pool2d.matches_reference",
        ["the largest window's area"],
    ),
    "none_as_other_side": (
        "adaptive_avg_pool2d.matches_reference",
        ["None keeps the input's side"],
    ),
    "backward_overlap_assigned": (
        "adaptive_avg_pool2d_backward.matches_reference",
        ["ADD its share to the elements of its window (+=), not assign it"],
    ),
    "backward_end_floor": ("adaptive_avg_pool2d_backward.matches_reference", [WINDOW_END]),
    "max_end_floor": ("adaptive_max_pool2d.matches_reference", [WINDOW_END]),
    "nan_skipped": ("adaptive_max_pool2d.matches_reference", ["y matches skipping NaN"]),
    "ties_last": (
        "adaptive_max_pool2d_backward.matches_reference",
        ["routing a tie to the last maximum"],
    ),
    "nan_first": ("adaptive_max_pool2d_backward.matches_reference", ["to its first NaN"]),
    "mask_all_ties": (
        "adaptive_max_pool2d_backward.matches_reference",
        ["every element equal to the window's maximum"],
    ),
    "backward_fancy_add": (
        "adaptive_max_pool2d_backward.matches_reference",
        ["the contributions must add up"],
    ),
}


CATALOGUE = Catalogue(
    name="adaptive_pool2d",
    module=STUDENT,
    bugs={bug: what for bug, (_, what) in BUGS.items()},
    caught=CAUGHT,
    cases=("Adaptive",),
    whole_op=True,
    isolate=False,
    named_by_a_hint=True,
    falsified=True,
)


def test_every_bug_is_pinned_to_a_property_of_its_op() -> None:
    assert set(CAUGHT) == set(BUGS)
    for bug, (prop, _) in CAUGHT.items():
        group, _ = BUGS[bug]
        assert prop in {p.name for p in PROPERTIES if p.function in GROUPS[group]}, bug


def test_the_printed_reproduction_reproduces_the_failure() -> None:
    failure = default_run(CATALOGUE, "ties_last").properties[-1].failure
    with pytest.raises(
        AssertionError, match=r"adaptive_max_pool2d_backward.matches_reference \(falsified\)"
    ):
        exec(failure.reproduce_snippet, {})


@pytest.mark.usefixtures("torch_required")
def test_the_student_without_bugs_passes_every_property_of_both_ops() -> None:
    groups = ["adaptive_avg_pool", "adaptive_max_pool"]
    result = quietly(candidate=f"{STUDENT}:correct", ops=groups, examples=50)
    functions = {f for group in groups for f in GROUPS[group]}
    assert [p.name for p in result.properties] == [
        p.name for p in PROPERTIES if p.function in functions
    ]
    assert all(p.status == "passed" for p in result.properties), result.explain()
