"""What every bug catalogue requires of a bug's default run (``--ops FUNCTION -x``), and the
hints that may fire beside the one that names the bug."""

from __future__ import annotations

import warnings

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
