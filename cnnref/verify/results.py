"""What a verification run found: one result per property, and the failures explained."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

from .evaluate import FATAL, Worst

# Property statuses.
PASSED = "passed"
FAILED = "failed"
ERROR = "error"  # cnnref itself failed while checking: a bug in cnnref
NOT_COVERED = "not covered"


@dataclass
class Failure:
    """The smallest failing example Hypothesis found, and what went wrong on it."""

    kind: str
    case: str  # repr of the case: a line of Python that rebuilds it
    case_fields: dict
    message: str
    hints: list[str]
    worst: Worst | None
    reproduce_command: str
    reproduce_snippet: str


@dataclass
class PropertyResult:
    name: str
    function: str
    summary: str
    formula: str
    status: str
    examples: int = 0
    seconds: float = 0.0
    worst: Worst | None = None  # over every example run
    error_ratios: list[float] = field(default_factory=list)  # worst error / tolerance, per example
    coverage: dict[str, Counter] = field(default_factory=dict)
    not_covered: list[str] = field(default_factory=list)
    failure: Failure | None = None

    @property
    def passed(self) -> bool:
        return self.status in (PASSED, NOT_COVERED)

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
    not_run: list[str] = field(default_factory=list)  # stopped at the first failure (exitfirst)

    @property
    def checked(self) -> bool:
        """Whether any property judged the candidate on at least one example."""
        return any(result.status != NOT_COVERED for result in self.properties)

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
        return "\n\n".join(result.explain() for result in self.failures)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"passed": self.passed, "checked": self.checked}


def _indent(text: str, spaces: int) -> list[str]:
    return [" " * spaces + line for line in text.splitlines()]
