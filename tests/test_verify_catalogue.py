"""Evidence of strength: cnnref verify catches every catalogued bug and passes correct implementations."""

from __future__ import annotations

import pytest

from cnnref.properties import PROPERTIES
from cnnref.verify import verify
from tests.candidates.catalogue import BUGS, MISBEHAVING

CATALOGUE = "tests.candidates.catalogue"


def test_the_catalogue_holds_at_least_twenty_realistic_bugs() -> None:
    assert len(BUGS) >= 20
    assert {op for op, _ in BUGS.values()} == {"conv", "pool"}


@pytest.mark.parametrize("bug", BUGS)
def test_verify_catches_the_bug(bug: str) -> None:
    op, description = BUGS[bug]
    result = verify(f"{CATALOGUE}:{bug}", ops=[op], exitfirst=True)
    assert not result.passed, f"cnnref verify missed {bug}: {description}"
    failure = result.failures[0].failure
    assert failure.message and failure.case.startswith(("ConvCase(", "PoolCase(")), result.explain()
    assert f"--impl {CATALOGUE}:{bug}" in failure.reproduce_command


@pytest.mark.usefixtures("torch_required")
@pytest.mark.parametrize(
    "target",
    ["cnnref", f"{CATALOGUE}:correct", "tests.candidates.loops", "tests.candidates.torch_backed"],
)
def test_verify_passes_a_correct_implementation(target: str) -> None:
    result = verify(target)
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
    result = verify(f"{CATALOGUE}:{candidate}", ops=[op], examples=10, timeout=1.0)
    failed = [p for p in result.properties if not p.passed]
    assert failed, f"{candidate} passed"
    assert {p.failure.kind for p in failed} == {kind}, [(p.name, p.failure.kind) for p in failed]
    assert message in failed[0].failure.message, failed[0].failure.message
    # The run went on: every property of the op has a verdict.
    assert len(result.properties) == 10 if op == "conv" else len(result.properties) == 8


@pytest.mark.parametrize(
    ("candidate", "words"),
    [("aborts_always", "killed by SIGABRT"), ("exits_always", "exit code 3")],
)
def test_a_candidate_that_dies_in_every_call_is_failed_at_once_on_every_property(
    candidate: str, words: str
) -> None:
    """A full default run: each property ends on its first crash, without shrinking through more."""
    result = verify(f"{CATALOGUE}:{candidate}")
    assert len(result.properties) == len(PROPERTIES)
    for prop in result.properties:
        assert prop.status == "failed" and prop.failure.kind == "crashed", prop.explain()
        assert words in prop.failure.message and prop.examples == 1, prop.explain()
    assert "not shrunk" in result.explain()
