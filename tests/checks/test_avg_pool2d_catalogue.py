"""Evidence of strength for avg_pool2d: cnnref verify catches every bug of the student
candidate's catalogue, names it, and passes the student without bugs.

Each bug runs once, as a user runs it: every property of the op in order, default
examples, seed 0, stopping at the first failure.  That run must fail at the property
pinned to catch the bug, with an explanation and hints that name it (every hint that fires
is checked) and its reproduction.  Each property draws from its own seed (the run's and
its name), so the pinned property's verdict is the one it gives when run alone.  The
candidate runs in this process (``isolate=False``) to keep the file fast;
test_verify_catalogue covers isolation.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import pytest

from cnnref.checks import PROPERTIES
from cnnref.ops import GROUPS
from cnnref.verify import VerificationResult, declare
from tests.candidates.avg_pool2d_student import BUGS
from tests.support.catalogue import NEUTRAL, failed_first_at, quietly

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


@functools.cache
def caught(bug: str) -> VerificationResult:
    """The bug's default run of the op (cached: two tests read it)."""
    return quietly(candidate=f"{STUDENT}:{bug}", ops=["avg_pool"], exitfirst=True)


# Both tests of a bug on one xdist worker, so that its run is made once.
EACH_BUG = [pytest.param(bug, marks=pytest.mark.xdist_group(f"avg_pool2d:{bug}")) for bug in BUGS]


def test_every_bug_is_pinned_to_a_property_of_the_op() -> None:
    assert set(CAUGHT) == set(BUGS)
    names = {prop.name for prop in PROPERTIES if prop.function in OP}
    assert len(names) == 8
    for bug, (prop, _) in CAUGHT.items():
        assert prop in names, f"{bug} is pinned to {prop}"


@pytest.mark.parametrize("bug", EACH_BUG)
def test_a_default_run_of_the_op_fails_the_bug_at_its_pinned_property(bug: str) -> None:
    failed_first_at(caught(bug), CAUGHT[bug][0], f"{bug} ({BUGS[bug]})")


@pytest.mark.parametrize("bug", EACH_BUG)
def test_the_pinned_property_names_the_bug(bug: str) -> None:
    prop, phrases = CAUGHT[bug]
    outcome = failed_first_at(caught(bug), prop, f"{bug} ({BUGS[bug]})")
    failure, text = outcome.failure, outcome.explain()
    assert failure.kind == "falsified" and failure.case.startswith("AvgPoolCase("), text
    assert any(phrase in text for phrase in phrases), f"{bug}: expected one of {phrases} in\n{text}"
    for hint in failure.hints:
        assert any(phrase in hint for phrase in (*phrases, *NEUTRAL)), (
            f"{bug} ({BUGS[bug]}) got a hint that describes another bug: {hint!r}\n{text}"
        )
    assert failure.reproduce_command.startswith(
        f"cnnref verify --impl {STUDENT}:{bug} --property {prop}"
    )


def test_the_printed_reproduction_reproduces_the_failure() -> None:
    failure = caught("count_include_pad_ignored").properties[-1].failure
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
