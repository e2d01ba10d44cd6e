"""One property on one example, judged in the verifier's process: what happened, as an Outcome."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from ..checks import CandidateRaised, Evidence, Falsified, NotChecked, Property
from ..checks.base import Candidate
from ..checks.compare import Comparison
from ..declarations import NOTHING_DECLARED
from ..precision import accumulating, is_half
from ..results import Kind, Worst
from ..sandbox.process import CandidateProcessFailed
from ..strategies.cases import Case


def worst_of(comparison: Comparison | None) -> Worst | None:
    """The record of a comparison that a report keeps."""
    if comparison is None:
        return None
    return Worst(
        comparison.name,
        comparison.worst_index,
        comparison.expected,
        comparison.actual,
        comparison.abs_error,
        comparison.rel_error,
        comparison.rtol,
        comparison.allowed,
    )


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    message: str = ""
    hints: tuple[str, ...] = ()
    worst: Worst | None = None
    function: str | None = None  # the function that hung or crashed (the FATAL kinds)

    @property
    def passed(self) -> bool:
        return self.kind == Kind.PASSED


def evaluate(prop: Property, candidate: Candidate, case: Case) -> Outcome:
    """Run one property on one example and say what happened; never raises."""
    evidence = Evidence()
    declared = getattr(candidate, "declarations", NOTHING_DECLARED)
    try:
        with accumulating(declared.conventions_for(prop.function).accumulation):
            prop.check(candidate, case, evidence)
    except Falsified as failure:
        return Outcome(Kind.FALSIFIED, failure.message, failure.hints, worst_of(_failing(evidence)))
    except NotChecked as reason:
        return Outcome(Kind.NOT_CHECKED, str(reason))
    except CandidateRaised as raised:
        refused = refused_dtype(case, raised)
        if refused:
            return Outcome(Kind.RAISED, refused)
        return Outcome(Kind.RAISED, f"{raised}\n{raised.traceback_text.rstrip()}")
    except CandidateProcessFailed as failed:
        return Outcome(failed.kind, str(failed), function=getattr(failed, "function", None))
    except Exception:
        return Outcome(
            Kind.INTERNAL, "cnnref failed while checking this example:\n" + traceback.format_exc()
        )
    return Outcome(Kind.PASSED, worst=worst_of(evidence.worst()))


def refused_dtype(case: object, raised: CandidateRaised) -> str:
    """One line for a candidate that raised on a half-format example: it cannot take the dtype.

    As PyTorch's OpInfo lists the dtypes each op supports, a candidate declares the
    formats it does not take; one that raises on an undeclared one is told how to declare
    it.  One that returns is judged like any other (docs/tolerances.md, "Half precision").
    """
    dtype = getattr(case, "dtype", "")
    if not is_half(dtype):
        return ""
    first_line = str(raised).splitlines()[0] if str(raised) else raised.error_type
    return (
        f"{first_line}: it cannot take {dtype} arrays; a candidate without {dtype} "
        f"declares CNNREF_UNSUPPORTED = {{{dtype!r}}} and is not given them"
    )


def _failing(evidence: Evidence) -> Comparison | None:
    return evidence.comparisons[-1] if evidence.comparisons else None
