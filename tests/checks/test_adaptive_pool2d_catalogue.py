"""Evidence of strength for the adaptive pools: cnnref verify catches every bug of the student
candidate's catalogue (tests/candidates/adaptive_pool2d_student.py), names it, and passes the
student without bugs.

Each bug runs once, as a user runs it: every property of its op in order, default examples,
seed 0, stopping at the first failure.  That run must fail at the property pinned to catch the
bug, with hints that name it (every hint that fires is checked) and its reproduction.  The
candidate runs in this process (``isolate=False``) to keep the file fast;
test_verify_catalogue covers isolation.
"""

from __future__ import annotations

import functools

import pytest

from cnnref.checks import PROPERTIES
from cnnref.ops import GROUPS
from cnnref.verify import VerificationResult
from tests.candidates.adaptive_pool2d_student import BUGS
from tests.support.catalogue import NEUTRAL, failed_first_at, quietly

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


@functools.cache
def caught(bug: str) -> VerificationResult:
    """The bug's default run of its op (cached: two tests read it)."""
    group, _ = BUGS[bug]
    return quietly(candidate=f"{STUDENT}:{bug}", ops=[group], exitfirst=True)


# Both tests of a bug on one xdist worker, so that its run is made once.
EACH_BUG = [pytest.param(bug, marks=pytest.mark.xdist_group(f"adaptive:{bug}")) for bug in BUGS]


def test_every_bug_is_pinned_to_a_property_of_its_op() -> None:
    assert set(CAUGHT) == set(BUGS)
    for bug, (prop, _) in CAUGHT.items():
        group, _ = BUGS[bug]
        assert prop in {p.name for p in PROPERTIES if p.function in GROUPS[group]}, bug


@pytest.mark.parametrize("bug", EACH_BUG)
def test_a_default_run_of_the_op_fails_the_bug_at_its_pinned_property(bug: str) -> None:
    failed_first_at(caught(bug), CAUGHT[bug][0], f"{bug} ({BUGS[bug][1]})")


@pytest.mark.parametrize("bug", EACH_BUG)
def test_the_pinned_property_names_the_bug(bug: str) -> None:
    prop, phrases = CAUGHT[bug]
    outcome = failed_first_at(caught(bug), prop, f"{bug} ({BUGS[bug][1]})")
    failure, text = outcome.failure, outcome.explain()
    assert failure.kind == "falsified" and failure.case.startswith("Adaptive"), text
    assert any(phrase in hint for hint in failure.hints for phrase in phrases), (
        f"{bug}: expected a hint with one of {phrases} in\n{text}"
    )
    for hint in failure.hints:
        assert any(phrase in hint for phrase in (*phrases, *NEUTRAL)), (
            f"{bug} ({BUGS[bug][1]}) got a hint that describes another bug: {hint!r}\n{text}"
        )
    assert failure.reproduce_command.startswith(
        f"cnnref verify --impl {STUDENT}:{bug} --property {prop}"
    )


def test_the_printed_reproduction_reproduces_the_failure() -> None:
    failure = caught("ties_last").properties[-1].failure
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
