"""Drive Hypothesis over each property: generate, evaluate, shrink, record.

Each property is its own Hypothesis run, so each gets its own verdict and,
when it fails, its own smallest counterexample.  A hang, a crash or an
unreadable reply stops that property at once with the example that caused
it (shrinking would restart the candidate's process for every attempt);
everything else is shrunk and, where it shrank to a large example, searched
for again among small ones (``SMALL_SEARCH_EXAMPLES``).

Each property's search has its own seed, made from the run's seed (or the
CI profile's) and the property's name: every property draws different
examples, and the same seed draws the same ones again.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, event, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky

from ..declarations import NOTHING_DECLARED, WITH_CONVENTIONS, Conventions, Declarations
from ..oracles.torch_autograd import torch_available
from ..properties import Property
from ..properties.compare import describe_inputs
from ..results import FATAL, Failure, Kind, PropertyResult, Status
from ..sandbox.process import DEFAULT_TIMEOUT
from ..sandbox.target import Command
from ..strategies import DTYPES, SIZE_CLASSES
from .candidate import IsolatedCandidate, LoadedCandidate
from .evaluate import Outcome, evaluate

DEFAULT_EXAMPLES = 100
# A case's values come from its seed, so they change completely as Hypothesis shrinks the
# geometry: the failure can vanish at every smaller size, and shrinking stops at a large
# input.  So a shrunk failure is followed by a search of at most this many small examples,
# and the smaller failing example of the two is reported.
SMALL_SEARCH_EXAMPLES = 50
SMALL_SIZES = tuple(size for size in SIZE_CLASSES if size.name == "small")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


@dataclass(frozen=True)
class RunSettings:
    """How a verification run draws and checks examples."""

    examples: int = DEFAULT_EXAMPLES
    seed: int | None = None  # None: derandomized in CI, random with the example database locally
    dtype: str | None = None  # None: every dtype in DTYPES, drawn per example
    timeout: float = DEFAULT_TIMEOUT
    database: Path | None = Path(".hypothesis") / "cnnref"
    # Options of the candidate's process (--memory, --cpu-time, --forbid) that the printed
    # reproduce command must repeat.
    process_options: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.examples < 1:
            raise ValueError(f"examples must be >= 1; got {self.examples}")
        if self.dtype not in (None, *DTYPES):
            raise ValueError(f"dtype must be one of {DTYPES} or None (all); got {self.dtype!r}")
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds; got {self.timeout}")

    def describe(
        self,
        *,
        isolated: bool,
        unsupported: frozenset[str],
        declarations: Declarations = NOTHING_DECLARED,
    ) -> dict:
        """The settings as a report records them."""
        return {
            "examples": self.examples,
            "seed": self.seed,
            "mode": self.mode,
            "dtype": self.dtype,
            "timeout": self.timeout,
            "isolated": isolated,
            "unsupported": sorted(unsupported),
            "declared": declarations.as_dict(),
        }

    @property
    def mode(self) -> str:
        if self.seed is not None:
            return f"seed {self.seed}"
        return "derandomized (CI)" if in_ci() else "random, with the example database"


class _Falsified(Exception):
    """Raised inside the Hypothesis test so that Hypothesis shrinks the example."""

    def __init__(self, case: object, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.case, self.outcome = case, outcome


class _Fatal(BaseException):
    """A BaseException, so that Hypothesis stops at once instead of shrinking a crash or hang."""

    def __init__(self, case: object, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.case, self.outcome = case, outcome


@dataclass
class _Tally:
    examples: int = 0
    not_checked: Counter = field(default_factory=Counter)  # reason -> examples
    ratios: list[float] = field(default_factory=list)
    worst: object = None
    coverage: dict[str, Counter] = field(default_factory=dict)

    def record(self, case: object, outcome: Outcome) -> None:
        self.examples += 1
        if outcome.kind == Kind.NOT_CHECKED:
            self.not_checked[outcome.message] += 1
        for key, value in case.coverage().items():
            self.coverage.setdefault(key, Counter())[value] += 1
        if outcome.worst is not None:
            self.ratios.append(outcome.worst.ratio)
            if self.worst is None or outcome.worst.ratio > self.worst.ratio:
                self.worst = outcome.worst


def run_property(
    prop: Property,
    candidate: IsolatedCandidate | LoadedCandidate,
    *,
    target: str,
    unsupported: frozenset[str],
    run: RunSettings,
    on_example: Callable[[int], None] = lambda n: None,
    windows: str = "partial",
    conventions: Conventions | None = None,
) -> PropertyResult:
    """Run one property through Hypothesis and return its verdict.

    ``unsupported`` features and, with ``windows="exact"``, geometries whose
    windows do not tile are never drawn; ``conventions`` (pool functions) are
    recorded as what the property checked under.
    """
    tally = _Tally()

    def search(strategy: st.SearchStrategy, key: str, examples: int) -> BaseException | None:
        """One Hypothesis search of ``strategy``, seeded from ``key``: how it stopped, if it did."""

        def check(data: st.DataObject) -> None:
            case = data.draw(strategy, label="case")
            for name, value in case.coverage().items():
                event(f"{name}: {value}")
            outcome = evaluate(prop.name, candidate, case)
            tally.record(case, outcome)
            on_example(tally.examples)
            if outcome.kind in FATAL:
                raise _Fatal(case, outcome)
            if not outcome.passed and outcome.kind != Kind.NOT_CHECKED:
                raise _Falsified(case, outcome)

        test = given(data=st.data())(check)
        test = _hypothesis_settings(run, target, key, examples)(test)
        chosen = property_seed(run.seed, key)
        if chosen is not None:
            test = seed(chosen)(test)
        try:
            test()
        except (_Falsified, _Fatal, Flaky) as stop:
            return stop
        return None

    start = time.perf_counter()
    result = PropertyResult(prop.name, prop.function, prop.summary, prop.formula, Status.PASSED)
    result.conventions = None if conventions is None else conventions.as_dict()
    stop = search(prop.cases(run.dtype, unsupported, windows), prop.name, run.examples)
    notes: list[str] = []
    if (
        isinstance(stop, _Falsified)
        and stop.outcome.kind != Kind.INTERNAL
        and stop.case.sizes_reached()  # shrinking may have stalled on a size
    ):
        small = search(
            prop.cases(run.dtype, unsupported, windows, sizes=SMALL_SIZES),
            f"{prop.name}.small",
            min(run.examples, SMALL_SEARCH_EXAMPLES),
        )
        stop, notes = _smaller(stop, small)
    if isinstance(stop, (_Falsified, _Fatal)):
        result.status = Status.ERROR if stop.outcome.kind == Kind.INTERNAL else Status.FAILED
        result.failure = _failure(
            stop.case, stop.outcome, prop, _named(candidate, target), run, notes
        )
    elif isinstance(stop, Flaky):
        result.status = Status.FAILED
        first = next(
            (e for e in getattr(stop, "exceptions", ()) if isinstance(e, _Falsified)), None
        )
        message = (
            "the failure did not happen again when the same example was re-run: the candidate "
            "gives different results for the same inputs (nondeterminism, state kept between "
            "calls, or a time limit hit only sometimes)"
        )
        outcome = Outcome(Kind.FLAKY, message + ("\n" + first.outcome.message if first else ""))
        result.failure = _failure(
            first.case if first else None, outcome, prop, _named(candidate, target), run
        )
    result.seconds = time.perf_counter() - start
    result.examples = tally.examples
    result.error_ratios = tally.ratios
    result.worst = tally.worst
    result.coverage = tally.coverage
    result.not_covered = [
        f"not drawn (declared unsupported): {name}" for name in sorted(unsupported)
    ]
    if windows == "exact":
        result.not_covered.append(
            "not drawn (declared windows='exact'): geometries whose windows do not cover the "
            "padded input exactly"
        )
    unchecked = sum(tally.not_checked.values())
    for reason, count in tally.not_checked.most_common():
        result.not_covered.insert(0, f"{count} of {tally.examples} examples {reason}")
    if result.status == Status.PASSED and unchecked == tally.examples:
        result.status = Status.NOT_COVERED  # no example could judge it: no verdict, not a pass
    return result


def verify_property(
    prop: Property,
    candidate: IsolatedCandidate | LoadedCandidate,
    *,
    target: str,
    run: RunSettings,
    on_example: Callable[[int], None] = lambda n: None,
) -> PropertyResult:
    """``run_property``, or a "not covered" result when the candidate or torch is missing."""
    if not candidate.has(prop.function):
        return not_covered(prop, f"{target} does not expose {prop.function}")
    declared = getattr(candidate, "declarations", NOTHING_DECLARED)
    has_conventions = prop.function in WITH_CONVENTIONS
    conventions = declared.conventions_for(prop.function) if has_conventions else None
    if prop.needs_torch and conventions is not None:
        reason = conventions.pytorch_cannot_judge(prop.function)
        if reason:
            result = not_covered(prop, reason.replace("not checked: ", "", 1))
            result.conventions = conventions.as_dict()
            return result
    if prop.needs_torch and not torch_available():
        return not_covered(prop, "torch is not installed (pip install torch)")
    # A property that also calls the candidate's forward draws what both support.
    involved = [prop.function, *(f for f in prop.calls if candidate.has(f))]
    exact = any(declared.conventions_for(f).windows == "exact" for f in involved)
    return run_property(
        prop,
        candidate,
        target=target,
        unsupported=declared.unsupported_for(*involved),
        run=run,
        on_example=on_example,
        windows="exact" if exact else "partial",
        conventions=conventions,
    )


def not_covered(prop: Property, reason: str) -> PropertyResult:
    return PropertyResult(
        prop.name,
        prop.function,
        prop.summary,
        prop.formula,
        Status.NOT_COVERED,
        not_covered=[reason],
    )


def property_seed(run_seed: int | None, key: str) -> int | None:
    """The seed of one property's search: the run's seed (the CI profile's without one) and
    the property's name, mixed by a stable hash.

    One seed for every property would give them all the same examples (their Hypothesis
    tests are one function); this gives each its own, and the same ones again for the same
    seed, in any process.  None (no seed, outside CI): random, with the example database.
    """
    if run_seed is None and not in_ci():
        return None
    base = "derandomized" if run_seed is None else str(run_seed)
    digest = hashlib.sha256(f"{base}/{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _hypothesis_settings(run: RunSettings, target: str, key: str, examples: int) -> settings:
    database = None
    if run.seed is None and not in_ci() and run.database is not None:
        database = DirectoryBasedExampleDatabase(run.database / _slug(target) / key)
    return settings(
        max_examples=examples,
        deadline=None,
        database=database,
        # Not the explain phase: it re-runs a failure many times to say which parts of it
        # could vary, a note cnnref never shows (it took 1.6 s of a 2.4 s failing run).
        phases=[phase for phase in Phase if phase != Phase.explain],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def _named(candidate: object, target: str) -> str | Command:
    """How a reproduction names the candidate: its module, or its command."""
    return getattr(candidate, "command", None) or target


def _smaller(
    found: _Falsified, small: BaseException | None
) -> tuple[_Falsified | _Fatal, list[str]]:
    """The failure to report, the shrunk one ``found`` or the small search's, and a note.

    The small search's replaces it only when it fails the same way on fewer input elements.
    """
    if small is None:
        return found, ["a search of small examples, after shrinking, found no smaller failure"]
    if isinstance(small, _Fatal):
        first_line = small.outcome.message.splitlines()[0] if small.outcome.message else ""
        note = (
            f"searching small examples for a smaller failure, the candidate failed otherwise "
            f"({small.outcome.kind}: {first_line}) on {small.case!r}"
        )
        return found, [note]
    if (
        isinstance(small, _Falsified)
        and small.outcome.kind == found.outcome.kind
        and input_elements(small.case) < input_elements(found.case)
    ):
        note = (
            f"a search of small examples found this one, smaller than the example Hypothesis "
            f"first shrank to ({input_elements(found.case)} input elements: {found.case!r})"
        )
        return small, [note]
    return found, []


def input_elements(case: object) -> int:
    """How many elements a case's input arrays hold together: how big the example is."""
    return sum(array.size for array in case.arrays() if array is not None)


def with_inputs(message: str, case: object, prop: Property) -> str:
    """``message`` and the case's arrays, when they are small enough to read and not shown yet."""
    if case is None or re.search(r"^inputs:$", message, re.MULTILINE):
        return message
    arrays = case.arrays()._asdict()
    if not prop.function.endswith("_backward"):
        arrays.pop("dy")  # a forward is not given dy
    shown = describe_inputs(arrays)
    return f"{message}\n{shown}" if shown else message


def _failure(
    case: object,
    outcome: Outcome,
    prop: Property,
    target: str | Command,
    run: RunSettings,
    notes: Sequence[str] = (),
) -> Failure:
    needed = still_needed(case) if case is not None else ""
    hints = list(outcome.hints) + list(notes) + ([needed] if needed else [])
    named = (
        f"--command {shlex.quote(str(target))}"
        if isinstance(target, Command)
        else f"--impl {target}"
    )
    command = f"cnnref verify {named} --property {prop.name} --examples {run.examples}"
    if run.dtype is not None:
        command += f" --dtype {run.dtype}"
    if run.timeout != DEFAULT_TIMEOUT:
        command += f" --timeout {run.timeout:g}"
    if run.seed is not None:
        command += f" --seed {run.seed}"
    command += "".join(f" {option}" for option in run.process_options)
    snippet = "\n".join(
        [
            "# or, in Python (raises AssertionError with this explanation):",
            f"from cnnref.strategies import {type(case).__name__}" if case is not None else "",
            "from cnnref.verify import "
            + ("Command, check_example" if isinstance(target, Command) else "check_example"),
            f"check_example({target!r}, {prop.name!r}, {case!r})",
        ]
    )
    return Failure(
        kind=outcome.kind,
        case=repr(case),
        case_fields=asdict(case) if case is not None else {},
        message=with_inputs(outcome.message, case, prop),
        hints=hints,
        worst=outcome.worst,
        reproduce_command=command,
        reproduce_snippet=snippet,
    )


def _as_written(value: object) -> object:
    """A square pair as PyTorch's signatures write it: (1, 1) -> 1."""
    return value[0] if isinstance(value, tuple) and len(set(value)) == 1 else value


def still_needed(case: object) -> str:
    """What the smallest failing example could not shrink away: where the bug must be.

    Settings (stride, padding, groups, a layout, ...) that survived shrinking are needed.
    Sizes are only what the search reached: a size may be needed itself (more than 255
    positions, a batch over 32) or only make something else likely (two NaNs in one window),
    so they are reported as such, not as the bug's cause.
    """
    sizes = case.sizes_reached()
    needs = case.settings_needed()
    if case.layout != "contiguous":
        needs.append(f"layout={case.layout!r}")
    if case.dtype != "float64":
        needs.append(f"dtype={case.dtype!r}")
    if case.dy_values != "finite":
        needs.append("NaN and inf in dy")
    needs += [f"{name} passed as a plain int" for name in case.as_int]
    needs += [f"{name} left out" for name in case.omitted]
    lines = []
    if needs:
        lines.append(
            f"Hypothesis could not shrink away {', '.join(needs)}: the bug needs "
            f"{'it' if len(needs) == 1 else 'them'}"
        )
    if sizes:
        lines.append(
            f"no smaller example failed than {', '.join(sizes)}: the bug needs that size, or "
            "something an example that size makes likely"
        )
    text = "; ".join(lines)
    if case.omitted:
        text += (
            ". Left out, an argument takes the function's own default; PyTorch's are "
            + ", ".join(f"{name}={_as_written(value)!r}" for name, value in case.DEFAULTS.items())
        )
    if case.as_int:
        text += (
            ". A plain int stands for the same value along height and width, as in PyTorch: "
            "make it a pair (v, v) before using it"
        )
    if case.layout != "contiguous":
        text += (
            ". It fails only for a non-contiguous input: something assumes C-contiguous memory "
            "(strides computed from the shape, a raw buffer, or reshape where a view is needed)"
        )
    return text
