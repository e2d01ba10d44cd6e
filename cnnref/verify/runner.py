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
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from hypothesis import HealthCheck, Phase, Verbosity, event, given, seed, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky

from ..checks import Property
from ..checks.contract import STATE_HINT
from ..checks.suggestions import confirmed, feature_suggestions
from ..declarations import NOTHING_DECLARED, WITH_CONVENTIONS, Conventions, Declarations
from ..options import DEFAULT_EXAMPLES
from ..oracles.torch_autograd import torch_available
from ..results import FATAL, Kind, PropertyResult, Status, Worst
from ..sandbox.process import DEFAULT_TIMEOUT
from ..sandbox.target import Command
from ..strategies import DTYPES, SIZE_CLASSES
from ..strategies.cases import Case
from .candidate import IsolatedCandidate, LoadedCandidate
from .evaluate import Outcome, evaluate
from .failures import FLAKY, NO_SMALLER, failure_of, input_elements

# A case's values come from its seed, so they change completely as Hypothesis shrinks the
# geometry: the failure can vanish at every smaller size, and shrinking stops at a large
# input.  So a shrunk failure is followed by a search of at most this many small examples,
# and the smaller failing example of the two is reported.
SMALL_SEARCH_EXAMPLES = 50
SMALL_SIZES = tuple(size for size in SIZE_CLASSES if size.name == "small")
# Where a property's time goes (PropertyResult.time_split), measured per example:
# the candidate's own code; the round trips to its process (transfer, process switches);
# the checks (the oracles, reference, PyTorch, SciPy and finite differences, and the
# comparisons); and, the rest, Hypothesis's generation and shrinking.
TIME_PARTS = ("candidate", "round_trips", "checks")


def load_torch() -> None:
    """Import PyTorch, when it is installed: seconds, spent while the candidate loads."""
    if torch_available():
        import torch  # noqa: F401


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

    def __init__(self, case: Case, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.case, self.outcome = case, outcome


class _Fatal(BaseException):
    """A BaseException, so that Hypothesis stops at once instead of shrinking a crash or hang."""

    def __init__(self, case: Case, outcome: Outcome) -> None:
        super().__init__(outcome.message)
        self.case, self.outcome = case, outcome


@dataclass
class _Tally:
    examples: int = 0
    not_checked: Counter = field(default_factory=Counter)  # reason -> examples
    ratios: list[float] = field(default_factory=list)
    worst: Worst | None = None
    coverage: dict[str, Counter] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(TIME_PARTS, 0.0))

    def time_in(self, evaluating: float, waited: float, own: float) -> None:
        """Split one example's evaluation: the candidate's calls and the checks around them."""
        self.seconds["candidate"] += own
        self.seconds["round_trips"] += waited - own
        self.seconds["checks"] += evaluating - waited

    def record(self, case: Case, outcome: Outcome) -> None:
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
            began, waited, own = time.perf_counter(), candidate.clock.waited, candidate.clock.own
            outcome = evaluate(prop, candidate, case)
            tally.time_in(
                time.perf_counter() - began,
                candidate.clock.waited - waited,
                candidate.clock.own - own,
            )
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
            with draws_independent_of_loaded_modules():
                test()
        except (_Falsified, _Fatal, Flaky) as stop:
            return stop
        return None

    start = time.perf_counter()
    summary = prop.summary if conventions is None else conventions.phrase(prop.summary)
    result = PropertyResult(prop.name, prop.function, summary, prop.formula, Status.PASSED)
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
        outcome = stop.outcome
        if isinstance(stop, _Falsified):  # a remedy is shown only once seen to hold
            hints = confirmed(outcome.hints, candidate, prop, stop.case)
            hints += feature_suggestions(candidate, prop, stop.case)
            outcome = replace(outcome, hints=tuple(hints))
        result.failure = failure_of(stop.case, outcome, prop, _named(candidate, target), run, notes)
    elif isinstance(stop, Flaky):
        result.status = Status.FAILED
        first = next(
            (e for e in getattr(stop, "exceptions", ()) if isinstance(e, _Falsified)), None
        )
        outcome = Outcome(
            Kind.FLAKY,
            FLAKY + ("\n" + first.outcome.message if first else ""),
            hints=(STATE_HINT,),
        )
        result.failure = failure_of(
            first.case if first else None, outcome, prop, _named(candidate, target), run
        )
    result.seconds = time.perf_counter() - start
    measured = sum(tally.seconds.values())
    result.time_split = tally.seconds | {"hypothesis": max(0.0, result.seconds - measured)}
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


def involved(prop: Property) -> tuple[str, ...]:
    """The candidate's functions a property may call."""
    return (prop.function, *prop.calls)


def misbehaved(results: Sequence[PropertyResult]) -> dict[str, PropertyResult]:
    """Each function that hung or crashed (or sent an unreadable reply), and the first result
    that says so."""
    first: dict[str, PropertyResult] = {}
    for result in results:
        failure = result.failure
        if failure is not None and failure.kind in FATAL and failure.function:
            first.setdefault(failure.function, result)
    return first


def spared(prop: Property, earlier: dict[str, PropertyResult]) -> PropertyResult | None:
    """The result of a property not run because a function it calls already hung or crashed
    on an earlier example: not covered (it was not checked), saying where and on what."""
    function = next((f for f in involved(prop) if f in earlier), None)
    if function is None:
        return None
    culprit = earlier[function]
    assert culprit.failure is not None  # misbehaved() keeps failed results only
    return not_covered(
        prop,
        f"not checked: {function} {culprit.failure.kind} on an earlier example "
        f"({culprit.name}: {culprit.failure.case}); what calls it is not run until that is "
        "fixed, rather than wait out the time limit or crash again",
    )


def spare_after_misbehaviour(
    props: Sequence[Property], results: Sequence[PropertyResult]
) -> list[PropertyResult]:
    """``results``, with each property after a function's first hang or crash that calls
    that function replaced by ``spared``: what a serial run gives, in whatever order they ran."""
    kept: list[PropertyResult] = []
    for prop, result in zip(props, results):
        kept.append(spared(prop, misbehaved(kept)) or result)
    return kept


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
        database = DirectoryBasedExampleDatabase(run.database / slug(target) / key)
    # From Hypothesis's defaults, not the caller's profile: a profile that derandomizes (a
    # test suite's CI profile, say) would replace each property's seed, and the same run
    # would draw other examples inside pytest than from the command line.
    return settings(
        settings.get_profile("default"),
        derandomize=False,
        max_examples=examples,
        deadline=None,
        database=database,
        # Not the explain phase: it re-runs a failure many times to say which parts of it
        # could vary, a note cnnref never shows, and most of a failing run's time.
        phases=[phase for phase in Phase if phase != Phase.explain],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        report_multiple_bugs=False,
        print_blob=False,
    )


@contextmanager
def draws_independent_of_loaded_modules() -> Iterator[None]:
    """Hypothesis mixes in constants read from the source of every local module imported so
    far, so a seeded search would draw other examples in a pytest session that had imported
    other test files than from the command line.  Within a property's search it gets none,
    and a seed gives the same examples in any process."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a Hypothesis without local constants
        yield
        return
    scan = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if scan is None or cache is None or not hasattr(providers, "Constants"):
        yield  # pragma: no cover - a Hypothesis without local constants
        return
    none = providers.Constants()
    cache.cache.clear()
    providers._get_local_constants = lambda: none
    try:
        yield
    finally:
        providers._get_local_constants = scan
        cache.cache.clear()


def slug(text: str) -> str:
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
        return found, [NO_SMALLER]
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
