"""What a verification run found: one result per property, and the failures explained.

The result model every other part reads: the runner fills it, the CLI prints
it, the reports and the pytest plugin read it.  It imports nothing of cnnref,
so that reading a result never loads the verifier.
"""

from __future__ import annotations

import dataclasses
import sys
from collections import Counter
from dataclasses import dataclass, field

if sys.version_info >= (3, 11):
    from enum import StrEnum
else:  # Python 3.10, which cnnref supports, has no StrEnum: the same behaviour, spelled out
    from enum import Enum

    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)


class Status(StrEnum):
    """A property's verdict."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"  # cnnref itself failed while checking: a bug in cnnref
    NOT_COVERED = "not covered"  # no example could judge it: no verdict, not a pass


class Kind(StrEnum):
    """What happened on one example: the kind of a property's outcome (and of its failure)."""

    PASSED = "passed"
    FALSIFIED = "falsified"  # the candidate returned something wrong
    RAISED = "raised"  # the candidate raised an exception
    CRASHED = "crashed"  # the process running the candidate died
    HUNG = "hung"  # a call did not return within the time limit
    UNREADABLE = "unreadable"  # the candidate's process sent bytes that are not a reply
    FLAKY = "flaky"  # the failure did not happen again on the same example
    INTERNAL = "internal error"  # cnnref itself failed: a bug in cnnref, reported as such
    NOT_CHECKED = "not checked"  # this example cannot judge the function (no verdict either way)
    DECLARED_AWAY = "declared away"  # --strict / --require: a required feature declared unsupported


# Kinds after which the candidate's process was ended: a verdict at once, no shrinking.
FATAL = (Kind.CRASHED, Kind.HUNG, Kind.UNREADABLE)


def error_ratio(abs_error: float, allowed: float) -> float:
    """An error as a fraction of its (absolute) tolerance: above 1 fails."""
    if allowed == 0:
        return 0.0 if abs_error == 0 else float("inf")
    return abs_error / allowed


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


@dataclass
class Failure:
    """The smallest failing example Hypothesis found, and what went wrong on it."""

    kind: Kind
    case: str  # repr of the case: a line of Python that rebuilds it
    case_fields: dict
    message: str
    hints: list[str]
    worst: Worst | None
    reproduce_command: str
    reproduce_snippet: str
    # The function that hung, crashed or sent an unreadable reply (the FATAL kinds).
    function: str | None = None


@dataclass
class PropertyResult:
    name: str
    function: str
    summary: str
    formula: str
    status: Status
    examples: int = 0
    seconds: float = 0.0
    worst: Worst | None = None  # over every example run
    error_ratios: list[float] = field(default_factory=list)  # worst error / tolerance, per example
    coverage: dict[str, Counter] = field(default_factory=dict)
    not_covered: list[str] = field(default_factory=list)
    failure: Failure | None = None
    # Pool functions: the conventions checked under (cnnref.declarations.Conventions.as_dict).
    conventions: dict[str, str] | None = None
    # Where ``seconds`` went: candidate, round_trips, checks, hypothesis (cnnref.verify.runner).
    time_split: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status in (Status.PASSED, Status.NOT_COVERED)

    def cause(self) -> tuple:
        """What a failure is taken to share with another of the same run: a raise, crash or hang
        with the same first line of its message (one wrong signature fails every property), or
        another failure of the same function in the same way."""
        failure = self.failure
        if failure is None:
            return (self.status,)
        if failure.kind in (Kind.RAISED, *FATAL):
            first_line = failure.message.splitlines()[0] if failure.message else ""
            return (failure.kind, first_line)
        return (self.function, failure.kind)

    def explain_as_also(self, first: str) -> str:
        """One line for a failure whose cause ``first`` (explained in full) seems to share."""
        failure = self.failure
        what = failure.message.splitlines()[0] if failure and failure.message else self.status
        command = f"; reproduce: {failure.reproduce_command}" if failure else ""
        return (
            f"{self.status.upper()} {self.name} ({failure.kind if failure else self.status}): "
            f"{what}; likely the same cause as {first} above{command}"
        )

    def explain(self) -> str:
        """The full text a person reads for this property."""
        head = f"{self.status.upper()} {self.name}: {self.summary}"
        if self.failure is None:
            return head + "".join(f"\n  {reason}" for reason in self.not_covered)
        failure = self.failure
        lines = [
            head,
            f"  what went wrong ({failure.kind}):",
            *_indent(failure.message, 4),
            "  failing example (not shrunk: each try would start the candidate's process again):"
            if failure.kind in FATAL
            else "  smallest failing example:",
            f"    {failure.case}",
        ]
        if failure.hints:
            lines.append("  likely cause:")
            lines += [f"    - {hint}" for hint in failure.hints]
        lines += [
            "  reproduce:",
            f"    {failure.reproduce_command}",
            *_indent(failure.reproduce_snippet, 4),
        ]
        return "\n".join(lines)


@dataclass
class VerificationResult:
    candidate: str
    properties: list[PropertyResult]
    settings: dict
    environment: dict
    seconds: float
    # Never run: stopped at the first failure (exitfirst), or interrupted (Ctrl-C).
    not_run: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)  # running when Ctrl-C came (in not_run)

    @property
    def checked(self) -> bool:
        """Whether any property judged the candidate on at least one example."""
        return any(result.status != Status.NOT_COVERED for result in self.properties)

    @property
    def passed(self) -> bool:
        """Every property held, and something was checked: a run that checked nothing fails."""
        return self.checked and all(result.passed for result in self.properties)

    @property
    def failures(self) -> list[PropertyResult]:
        return [result for result in self.properties if not result.passed]

    def explain(self) -> str:
        """Every failed property explained, one after another (or why nothing was checked)."""
        if not self.checked:
            reasons = "".join(
                f"\n  {result.name}: {'; '.join(result.not_covered)}" for result in self.properties
            )
            return f"NOTHING CHECKED: no property ran on a single example{reasons}"
        groups: dict[
            tuple, list[str]
        ] = {}  # cause -> the first failure in full, then one line each
        for result in self.failures:
            group = groups.get(result.cause())
            if group is None:
                groups[result.cause()] = [result.explain()]
            else:
                group.append(result.explain_as_also(first=self._first_with(result.cause())))
        return "\n\n".join("\n".join(group) for group in groups.values())

    def _first_with(self, cause: tuple) -> str:
        return next(result.name for result in self.failures if result.cause() == cause)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"passed": self.passed, "checked": self.checked}


def _indent(text: str, spaces: int) -> list[str]:
    return [" " * spaces + line for line in text.splitlines()]
