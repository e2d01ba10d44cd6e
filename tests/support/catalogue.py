"""A bug catalogue as its tests see it: its bugs, the property pinned to catch each, and the
default run (``--ops FUNCTION -x``, seed 0) that must fail first there and name the bug.

Each catalogue's table is beside its own tests (``tests/checks/test_*_catalogue.py``); the
tests every catalogue shares are one parametrised module, ``tests/checks/test_catalogues.py``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cnnref.ops import OPS, op_of
from cnnref.results import PropertyResult, VerificationResult
from cnnref.verify import verify

# Statements of fact that blame no bug: what the example could not lose, and that the values
# are another pooling convention's (if that is on purpose, the candidate should declare it).
NEUTRAL = (
    "Hypothesis could not shrink away",
    "no smaller example failed than",
    "a search of small examples",
    "the result matches the convention",
    "NaN became a number",
    "-inf became",
    "the gradient went to",
    "on purpose, declare CNNREF_UNSUPPORTED",
)


def quietly(**options) -> VerificationResult:
    """``verify`` of a catalogue's candidate in this process, seed 0; its 0/0 and inf - inf
    warn, as numpy does."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return verify(isolate=False, seed=0, **options)


def failed_first_at(result: VerificationResult, prop: str, bug: str) -> PropertyResult:
    """The run's failure at ``prop``, which must be its first and only one: every property
    before it passed, and ``-x`` stopped there."""
    assert not result.passed, f"a default run missed {bug}\n{result.explain()}"
    *before, last = result.properties
    assert last.name == prop, f"{bug} first failed {last.name}, not {prop}\n{last.explain()}"
    assert all(p.status == "passed" for p in before), result.explain()
    assert last.status == "failed", f"{prop} missed {bug}\n{last.explain()}"
    return last


@dataclass(frozen=True)
class Catalogue:
    """Planted bugs in one candidate module, each pinned to the property that must catch it."""

    name: str  # its label in test ids
    module: str  # the candidates: ``module:bug`` is the bug's candidate
    bugs: Mapping[str, str]  # bug -> what it is
    # bug -> (the property pinned to catch it, phrases that name it: the explanation must hold
    # one, and every hint that fires must hold one or be a NEUTRAL statement).
    caught: Mapping[str, tuple[str, Sequence[str]]]
    cases: tuple[str, ...]  # how the repr of its failing examples starts
    whole_op: bool = False  # a run checks both functions of the bug's op, not the pinned one
    isolate: bool = True  # the candidate in its own process (else in this one, for speed)
    seeds: Mapping[str, int] = field(default_factory=dict)  # seed 0 unless it shows no bug
    named_by_a_hint: bool = False  # a hint must name the bug, not only the message
    falsified: bool = False  # the failure must be a wrong value, not a crash or a flake


_RUNS: dict[tuple[str, str], VerificationResult] = {}


def default_run(catalogue: Catalogue, bug: str) -> VerificationResult:
    """The bug's default run, stopping at the first failure (cached: several tests read it)."""
    key = (catalogue.name, bug)
    if key not in _RUNS:
        function = catalogue.caught[bug][0].split(".")[0]
        ops = [OPS[op_of(function)]] if catalogue.whole_op else [function]
        with warnings.catch_warnings():  # the bugs' 0/0 and inf - inf warn, as numpy does
            warnings.simplefilter("ignore", RuntimeWarning)
            _RUNS[key] = verify(
                f"{catalogue.module}:{bug}",
                ops=ops,
                exitfirst=True,
                seed=catalogue.seeds.get(bug, 0),
                isolate=catalogue.isolate,
            )
    return _RUNS[key]
