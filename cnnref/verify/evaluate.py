"""One property on one example, judged in the verifier's process: what happened, as an Outcome."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from ..properties import CandidateRaised, Evidence, Falsified, NotChecked, property_named
from ..properties.base import Candidate
from ..properties.compare import Comparison, error_ratio
from ..sandbox.process import (
    CandidateCrashed,
    CandidateHung,
    CandidateProcessFailed,
    CandidateUnreadable,
)

# Kinds of outcome.
PASSED = "passed"
FALSIFIED = "falsified"  # the candidate returned something wrong
RAISED = "raised"  # the candidate raised an exception
CRASHED = CandidateCrashed.kind  # the process running the candidate died
HUNG = CandidateHung.kind  # a call did not return within the time limit
UNREADABLE = CandidateUnreadable.kind  # the candidate's process sent bytes that are not a reply
INTERNAL = "internal error"  # cnnref itself failed: a bug in cnnref, reported as such
NOT_CHECKED = "not checked"  # this example cannot judge the function (no verdict either way)
# Kinds after which the candidate's process was ended: a verdict at once, no shrinking.
FATAL = (CRASHED, HUNG, UNREADABLE)


@dataclass(frozen=True)
class Worst:
    """The comparison of one example that came closest to its tolerance."""

    name: str
    index: tuple[int, ...] | None
    expected: float
    actual: float
    abs_error: float
    rel_error: float
    rtol: float
    allowed: float  # the element's whole tolerance: rtol * magnitude + the normwise term

    @property
    def ratio(self) -> float:
        """The error as a fraction of the element's whole tolerance (above 1 fails)."""
        return error_ratio(self.abs_error, self.allowed)

    @classmethod
    def of(cls, comparison: Comparison | None) -> Worst | None:
        if comparison is None:
            return None
        return cls(
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
    kind: str
    message: str = ""
    hints: tuple[str, ...] = ()
    worst: Worst | None = None

    @property
    def passed(self) -> bool:
        return self.kind == PASSED


def evaluate(property_name: str, candidate: Candidate, case: object) -> Outcome:
    """Run one property on one example and say what happened; never raises."""
    evidence = Evidence()
    try:
        property_named(property_name).check(candidate, case, evidence)
    except Falsified as failure:
        return Outcome(FALSIFIED, failure.message, failure.hints, Worst.of(_failing(evidence)))
    except NotChecked as reason:
        return Outcome(NOT_CHECKED, str(reason))
    except CandidateRaised as raised:
        return Outcome(RAISED, f"{raised}\n{raised.traceback_text.rstrip()}")
    except CandidateProcessFailed as failed:
        return Outcome(failed.kind, str(failed))
    except Exception:
        return Outcome(
            INTERNAL, "cnnref failed while checking this example:\n" + traceback.format_exc()
        )
    return Outcome(PASSED, worst=Worst.of(evidence.worst()))


def _failing(evidence: Evidence) -> Comparison | None:
    return evidence.comparisons[-1] if evidence.comparisons else None
