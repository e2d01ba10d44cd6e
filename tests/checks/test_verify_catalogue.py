"""The catalogue of conv2d and max_pool2d bugs (tests/candidates/catalogue.py): where each is
pinned, and what only this catalogue checks (the contract's own words, reproductions, correct
and misbehaving candidates).

Each bug's default run, and the checks every catalogue shares, are in test_catalogues.py: a
run of every property of the function the bug breaks, default examples, seed 0, stopping at
the first failure (`--ops FUNCTION -x`), in the candidate's own process.  Each property draws
from its own seed (the run's and its name), so the pinned property's verdict is the one it
gives when run alone.
"""

from __future__ import annotations

import re

import pytest

from cnnref.checks import PROPERTIES
from cnnref.ops import GROUPS, OPS
from cnnref.strategies import ConvCase, PoolCase
from cnnref.verify import check_example, select_properties, verify
from tests.candidates.catalogue import BUGS, MISBEHAVING
from tests.support.catalogue import Catalogue, default_run

pytestmark = pytest.mark.slow  # a whole verification per catalogued bug

CANDIDATES = "tests.candidates.catalogue"
STUDENT_OPS = ["conv", "pool"]  # what the catalogue's candidates implement

# bug -> (the property pinned to catch it, phrases that describe it: the explanation must
# contain one, and every hint that fires must contain one or be a NEUTRAL statement).
CAUGHT = {
    "flip_kernel": (
        "conv2d.matches_reference",
        ["true convolution, with the kernel rotated by 180 degrees"],
    ),
    "stride_axes_swapped": ("conv2d.matches_reference", ["stride axes swapped"]),
    "padding_one_side": ("conv2d.matches_reference", ["padding applied on one side only"]),
    "dilation_ignored": ("conv2d.matches_reference", ["dilation ignored"]),
    "groups_read_first_block": (
        "conv2d.matches_reference",
        ["only output channels after the first group are wrong"],
    ),
    "bias_first_item_only": (
        "conv2d.matches_reference",
        ["only batch items after the first are wrong"],
    ),
    "float32_accumulator": ("conv2d.matches_reference", ["float32 rounding size"]),
    "assumes_contiguous": ("conv2d.matches_reference", ["assumes C-contiguous memory"]),
    "dx_kernel_rotated": (
        "conv2d_backward.matches_reference",
        ["gradient for the kernel rotated by 180 degrees"],
    ),
    "dx_overlap_assigned": ("conv2d_backward.matches_reference", ["added (+=), not assigned"]),
    "dx_crop_from_origin": (
        "conv2d_backward.matches_reference",
        ["cropped from its top-left corner", "near the borders"],
    ),
    "dw_mean_over_batch": ("conv2d_backward.matches_reference", ["dw is the batch mean"]),
    "dw_whole_chunks_only": ("conv2d_backward.matches_reference", ["batch=33"]),
    "db_mean": ("conv2d_backward.matches_reference", ["db is a mean"]),
    # The contract says "dtype float32; expected float64", but matches_reference runs first
    # (test_the_contract_names_bugs_matches_reference_fails_first checks the contract's words).
    "backward_float32": ("conv2d_backward.matches_reference", ["float32 rounding size"]),
    "pair_rejects_int": ("conv2d.matches_reference", ["passed as a plain int", "left out"]),
    "padding_default_one": ("conv2d.matches_reference", ["padding left out"]),
    "float64_output": ("conv2d.contract", ["dtype float64; expected float32"]),
    "dy_nan_zeroed_in_place": ("conv2d_backward.contract", ["modified its argument dy in place"]),
    # Found flaky (an entry left by another property's forward) before the contract's
    # interleaved calls get to it; the contract's own catch is pinned below.
    "shape_keyed_cache": ("conv2d_backward.matches_torch", ["a cache keyed on the shape"]),
    "ties_last": ("max_pool2d_backward.matches_reference", ["FIRST maximum"]),
    # x == max sends a NaN maximum nothing, so its smallest failing example may be NaN's.
    "ties_to_all": ("max_pool2d_backward.matches_reference", ["FIRST maximum", "LAST NaN"]),
    "nan_first": ("max_pool2d_backward.matches_reference", ["LAST NaN"]),
    "nan_ignored": ("max_pool2d.matches_reference", ["a window containing NaN has maximum NaN"]),
    # Routing by its own rewritten x also misroutes: matches_reference sees that first.
    "nan_to_inf_in_place": ("max_pool2d_backward.matches_reference", ["LAST NaN"]),
    "neginf_to_tap_zero": ("max_pool2d_backward.matches_reference", ["entirely -inf"]),
    "zero_padding": ("max_pool2d.matches_reference", ["zero-padded input"]),
    "ceil_mode_ignored": ("max_pool2d.matches_reference", ["ceil_mode=False (floor)"]),
    "ceil_mode_keeps_last_window": (
        "max_pool2d.matches_reference",
        ["a last window that starts past the input"],
    ),
    "stride_none_means_one": (
        "max_pool2d.matches_reference",
        ["stride=None means stride = kernel_size"],
    ),
    "overlap_assigned": (
        "max_pool2d_backward.matches_reference",
        ["ADD its gradient (+=), not assign it"],
    ),
    "index_uint8": ("max_pool2d_backward.matches_reference", ["41x41 input"]),
    "pool_view_for_unit_kernel": ("max_pool2d.contract", ["sharing memory with its argument x"]),
    "pool_backward_float32": ("max_pool2d_backward.matches_reference", ["float32 rounding size"]),
    "nan_dy_spread_by_mask": (
        "max_pool2d_backward.matches_reference",
        ["multiplying dy by a 0/1 mask"],
    ),
}
# Seed 0 unless it draws nothing that shows the bug.  neginf_to_tap_zero needs padding, -inf
# values and an all -inf window at the border together: of its property's 100 examples at
# seeds 0, 1 and 2, 0, 1 and 10 have padding and -inf values.
SEEDS = {"neginf_to_tap_zero": 2}


CATALOGUE = Catalogue(
    name="conv_and_max_pool",
    module=CANDIDATES,
    bugs={bug: what for bug, (_, what) in BUGS.items()},
    caught=CAUGHT,
    cases=("ConvCase(", "MaxPoolCase("),
    seeds=SEEDS,
)


def test_the_catalogue_holds_realistic_bugs_each_pinned_to_a_property() -> None:
    assert len(BUGS) >= 20
    assert {op for op, _ in BUGS.values()} == {"conv", "pool"}
    assert set(CAUGHT) == set(BUGS)
    names = {prop.name for prop in PROPERTIES}
    for bug, (prop, _) in CAUGHT.items():
        op = {"conv": "conv2d", "pool": "max_pool2d"}[BUGS[bug][0]]
        assert prop in names and prop.startswith(op), f"{bug} is pinned to {prop}"


@pytest.mark.parametrize(
    ("bug", "prop", "case", "words"),
    [
        (
            "backward_float32",
            "conv2d_backward.contract",
            ConvCase(1, 1, 1, 3, 3, (2, 2)),
            "dtype float32; expected float64",
        ),
        (
            "pool_backward_float32",
            "max_pool2d_backward.contract",
            PoolCase(1, 1, 4, 4, (2, 2)),
            "dtype float32; expected float64",
        ),
        (
            "shape_keyed_cache",
            "conv2d_backward.contract",
            ConvCase(1, 1, 1, 3, 3, (2, 2)),
            "right after a call of conv2d on another x of the same shape",
        ),
        (
            "nan_to_inf_in_place",
            "max_pool2d_backward.contract",
            PoolCase(1, 2, 1, 2, (1, 2), values="nan"),
            "modified its argument x in place",
        ),
    ],
)
def test_the_contract_names_bugs_matches_reference_fails_first(bug, prop, case, words) -> None:
    with pytest.raises(AssertionError, match=words):
        check_example(f"{CANDIDATES}:{bug}", prop, case)


def test_the_printed_reproduction_reproduces_the_failure() -> None:
    failure = default_run(CATALOGUE, "ties_last").properties[-1].failure
    assert failure.case.startswith("MaxPoolCase(") and "values=" in failure.case
    with pytest.raises(
        AssertionError, match=r"max_pool2d_backward.matches_reference \(falsified\)"
    ) as raised:
        exec(failure.reproduce_snippet, {})
    assert "FIRST maximum" in str(raised.value)


def test_a_shrunk_example_is_small() -> None:
    failure = default_run(CATALOGUE, "flip_kernel").properties[-1].failure
    fields = failure.case_fields
    assert fields["batch"] == 1 and fields["in_channels"] == 1 and fields["out_channels"] == 1, (
        failure.case
    )
    assert fields["kernel_size"][0] * fields["kernel_size"][1] == 2, (
        "a flip needs a kernel of two taps"
    )
    assert "worst at index" in failure.message and "expected" in failure.message


def test_check_example_passes_quietly_on_a_correct_candidate() -> None:
    check_example(
        "cnnref",
        "conv2d_backward.matches_reference",
        ConvCase(2, 4, 4, 7, 6, (3, 2), stride=(2, 1), groups=2),
    )


# Correct candidates: the from-scratch student at the default 100 examples, the slow ones
# (Python loops, PyTorch round trips) at fewer: the claim is that a correct implementation is
# never called wrong, and the student makes it at full strength.  The reference makes it at
# full strength in properties/test_reference_properties.py (every property, 100 examples,
# each in a dtype drawn from all four, in process); here it runs isolated through verify.  One test per op for the
# reference and the student, so that the xdist workers share them out.
@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize(
    ("target", "examples", "ops"),
    [
        *(("cnnref", 25, [group]) for group in OPS.values()),
        *((f"{CANDIDATES}:correct", 100, [group]) for group in STUDENT_OPS),
        ("tests.candidates.loops", 25, STUDENT_OPS),
        ("tests.candidates.torch_backed", 25, STUDENT_OPS),
    ],
    ids=lambda value: "+".join(value) if isinstance(value, list) else str(value),
)
def test_verify_passes_a_correct_implementation(target: str, examples: int, ops: list) -> None:
    result = verify(target, examples=examples, ops=ops)
    assert result.passed, result.explain()
    assert all(p.status == "passed" for p in result.properties), [
        (p.name, p.status) for p in result.properties
    ]


@pytest.mark.parametrize(
    ("candidate", "kind", "message"),
    [
        ("raises", "raised", "conv2d_backward raised NotImplementedError: backward: TODO"),
        ("wrong_type", "falsified", "max_pool2d returned list for y; expected a numpy.ndarray"),
        ("hangs", "hung", "conv2d did not return within 1 s"),
        (
            "crashes",
            "crashed",
            "the process running the candidate died (killed by SIGABRT) while calling max_pool2d_backward",
        ),
    ],
)
def test_a_misbehaving_candidate_fails_with_a_clear_message_and_the_run_finishes(
    candidate, kind, message
) -> None:
    op, _ = MISBEHAVING[candidate]
    result = verify(f"{CANDIDATES}:{candidate}", ops=[op], examples=10, timeout=1.0)
    failed = [p for p in result.properties if not p.passed]
    assert failed, f"{candidate} passed"
    assert {p.failure.kind for p in failed} == {kind}, [(p.name, p.failure.kind) for p in failed]
    assert message in failed[0].failure.message, failed[0].failure.message
    # The run went on: every property of the op has a verdict.
    assert len(result.properties) == len(select_properties([op]))


@pytest.mark.parametrize(
    ("candidate", "words"),
    [("aborts_always", "killed by SIGABRT"), ("exits_always", "exit code 3")],
)
def test_a_candidate_that_dies_in_every_call_is_failed_at_once_on_every_property(
    candidate: str, words: str
) -> None:
    """A full default run: a property ends on its first crash, without shrinking through more;
    the later properties that call a function that crashed are not run, and say why."""
    result = verify(f"{CANDIDATES}:{candidate}", ops=STUDENT_OPS)
    assert len(result.properties) == len(select_properties(STUDENT_OPS))
    crashed = set()
    for prop in result.properties:
        if prop.status == "failed":
            assert prop.failure.kind == "crashed", prop.explain()
            assert words in prop.failure.message and prop.examples == 1, prop.explain()
            crashed.add(prop.failure.function)
        else:
            assert prop.status == "not covered" and prop.examples == 0, prop.explain()
            (reason,) = prop.not_covered
            assert re.match(r"not checked: \w+ crashed on an earlier example \(", reason), reason
    assert crashed == {f for op in STUDENT_OPS for f in GROUPS.get(op, (op,))}, crashed
    assert not result.passed
    assert "not shrunk" in result.explain()
