"""What every bug catalogue requires of a bug's default run (``--ops FUNCTION -x``)."""

from __future__ import annotations

from cnnref.results import PropertyResult, VerificationResult


def failed_first_at(result: VerificationResult, prop: str, bug: str) -> PropertyResult:
    """The run's failure at ``prop``, which must be its first and only one: every property
    before it passed, and ``-x`` stopped there."""
    assert not result.passed, f"a default run missed {bug}\n{result.explain()}"
    *before, last = result.properties
    assert last.name == prop, f"{bug} first failed {last.name}, not {prop}\n{last.explain()}"
    assert all(p.status == "passed" for p in before), result.explain()
    assert last.status == "failed", f"{prop} missed {bug}\n{last.explain()}"
    return last
