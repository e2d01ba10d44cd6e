"""Verify any implementation of cnnref's ops (``cnnref.ops.OPS``) and their gradients.

>>> from cnnref.verify import assert_verified
>>> assert_verified("mypackage.layers")          # doctest: +SKIP

``verify`` returns a ``VerificationResult``; ``assert_verified`` raises
AssertionError with every failure explained; ``check_example`` re-runs one
property on one example (the reproduction a failure prints).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial

from ..checks import FUNCTIONS, PROPERTIES, Property, property_named
from ..checks.suggestions import confirmed
from ..declarations import Conventions, Declarations, canonical_features, declare, enforce
from ..declarations import read as read_declarations
from ..ops import GROUPS
from ..options import default_jobs
from ..results import Failure, Kind, PropertyResult, Status, VerificationResult
from ..sandbox.process import DEFAULT_CPU_SECONDS, DEFAULT_MEMORY, Limits
from ..strategies.cases import Case
from .candidate import (
    DEFAULT_CANDIDATE,
    PROTOCOL_SPELLING,
    CandidateLoadError,
    Command,
    IsolatedCandidate,
    LoadedCandidate,
    import_target,
    target_of,
)
from .environment import environment
from .evaluate import evaluate
from .failures import example_failed
from .last_failed import failed_last_time, reorder
from .last_failed import record as record_failed
from .runner import (
    DEFAULT_EXAMPLES,
    DEFAULT_TIMEOUT,
    RunSettings,
    load_torch,
    misbehaved,
    spare_after_misbehaviour,
    spared,
    verify_property,
)

# Called with every VerificationResult: the pytest plugin collects them for its report.
result_listeners: list[Callable[[VerificationResult], None]] = []


class Progress:
    """Callbacks a verification run makes; the CLI prints them."""

    def start(self, prop: Property) -> None: ...

    def example(self, prop: Property, count: int) -> None: ...

    def finish(self, result: PropertyResult) -> None: ...


class SelectionError(ValueError):
    """The ops and property names chosen select no property (a usage error)."""


def select_properties(
    ops: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> list[Property]:
    """The properties for the given functions (or groups: 'conv', 'pool', ...) and/or names.

    SelectionError if they have none in common: such a run would check nothing.
    """
    functions: set[str] = set()
    for op in ops or FUNCTIONS:
        if op not in FUNCTIONS and op not in GROUPS:
            raise ValueError(f"unknown op {op!r}; choose from {', '.join((*FUNCTIONS, *GROUPS))}")
        functions.update(GROUPS.get(op, (op,)))
    chosen = [prop for prop in PROPERTIES if prop.function in functions]
    if names:
        known = {prop.name for prop in PROPERTIES}
        unknown = sorted(set(names) - known)
        if unknown:
            raise SelectionError(
                f"unknown property {', '.join(map(repr, unknown))}; `cnnref verify --list` "
                "lists them"
            )
        wanted = set(names)
        chosen = [prop for prop in chosen if prop.name in wanted]
        if not chosen:
            raise SelectionError(
                f"no property is both in ops {sorted(functions)} and named {sorted(wanted)}: "
                "nothing would be checked"
            )
    return chosen


def verify(
    candidate: object = DEFAULT_CANDIDATE,
    *,
    ops: Iterable[str] | None = None,
    properties: Iterable[str] | None = None,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    dtype: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    memory: int | None = DEFAULT_MEMORY,
    cpu_seconds: int | None = DEFAULT_CPU_SECONDS,
    forbid: Iterable[str] = (),
    isolate: bool = True,
    exitfirst: bool = False,
    jobs: int | None = None,
    failed_first: bool = False,
    last_failed: bool = False,
    progress: Progress | None = None,
    allow_read: Iterable[str] = (),
    pass_env: Iterable[str] = (),
    allow_network: bool = False,
    allow_shm: bool = False,
    device: str = "cpu",
    strict: bool = False,
    require: Iterable[str] = (),
) -> VerificationResult:
    """Check every property of the functions ``candidate`` exposes.

    ``candidate`` is a module, an object with the functions as attributes, a
    ``"module"`` / ``"module:attr"`` string, or a ``Command("./my_server")``:
    a program in any language that speaks docs/protocol.md.  It may also be
    an ``IsolatedCandidate`` already started (as the pytest plugin keeps one per
    candidate): its process and limits are used, and it is left running.  With ``isolate`` (the
    default) it runs in a fenced process of its own, and only inputs and
    outputs cross: a crash or a hang (``timeout`` seconds per call) fails a
    property instead of the whole run, and nothing the candidate does can
    change a verdict.  ``memory`` (bytes of address space), ``cpu_seconds``
    and ``forbid`` (modules it may not import) limit that process.
    It reads only its own files, Python and the system's libraries (and
    ``allow_read``), gets a clean environment (and ``pass_env``), opens no
    socket (unless ``allow_network``) and nothing in /dev/shm (unless
    ``allow_shm``); ``device`` ("cuda", "rocm") lets it open that GPU's
    device nodes (docs/protocol.md).  ``strict`` honours no declaration: every
    feature is drawn, PyTorch's conventions apply, and each property whose
    functions declared something away fails naming the declaration; ``require``
    does the same for the features named only.
    ``isolate=False`` calls the candidate in this process: faster to debug,
    but with no protection and no integrity guarantee.  With ``exitfirst``
    the run stops at the first failed property.  ``jobs`` worker processes
    (default: the cores this process may use, 1 in a pytest-xdist worker)
    check properties at once, each with its own candidate process; the
    results are those of a serial run.  ``failed_first`` checks the properties
    that failed in this candidate's last run first, ``last_failed`` only those
    (all when none did).  Examples are float64, float32, float16 and
    bfloat16, drawn per example, unless ``dtype`` pins one (or the candidate
    declares some of them unsupported).
    """
    progress = progress or Progress()
    started = isinstance(candidate, IsolatedCandidate)
    if isinstance(candidate, IsolatedCandidate):
        limits, timeout = candidate.process.limits, candidate.process.limits.timeout
    else:
        limits = Limits(
            timeout=timeout,
            memory=memory,
            cpu_seconds=cpu_seconds,
            forbid=tuple(forbid),
            allow_read=tuple(allow_read),
            pass_env=tuple(pass_env),
            allow_network=allow_network,
            allow_shm=allow_shm,
            device=device,
        )
    required = canonical_features(require, where="require") if require else frozenset()
    run = RunSettings(
        examples=examples,
        seed=seed,
        dtype=dtype,
        timeout=timeout,
        process_options=process_options(limits) if isolate else (),
    )
    selected = select_properties(ops, properties)
    start = time.perf_counter()
    subject: IsolatedCandidate | LoadedCandidate
    if isinstance(candidate, IsolatedCandidate):
        target = candidate.target
    else:
        target = target_of(candidate) if isolate or isinstance(candidate, str) else _name(candidate)
    if failed_first or last_failed:
        failed = failed_last_time(run.database, target)
        selected = reorder(selected, failed, only=last_failed)
    jobs = default_jobs() if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1; got {jobs}")
    results: list[PropertyResult] = []
    interrupted: KeyboardInterrupt | None = None
    # Workers load the candidate themselves with its own declarations, so a run that
    # overrides them (strict, require) checks its properties in this process's order.
    if jobs > 1 and len(selected) > 1 and isolate and not started and not (strict or required):
        try:
            results, subject = _in_workers(
                selected, candidate, target, limits, run, jobs, exitfirst, progress
            )
        except KeyboardInterrupt as stop:  # the properties finished in the run's order stay
            interrupted = stop
            from ..declarations import NOTHING_DECLARED
            from .parallel import Loaded

            results, loaded = getattr(stop, "partial", ([], None))
            # What the report records of the candidate: its declarations, as a worker read them.
            subject = loaded or Loaded(frozenset(), NOTHING_DECLARED, ())  # type: ignore[assignment]
        honoured, honoured_unsupported = subject.declarations, subject.unsupported
    else:
        if isinstance(candidate, IsolatedCandidate):
            subject = candidate
        else:
            subject = _candidate(
                candidate, target, isolate, limits, meanwhile=_oracles_for(selected)
            )
        declared = subject.declarations
        excused = PROTOCOL_SPELLING if getattr(subject, "command", None) else ()
        subject.declarations, declared_away = enforce(
            declared, strict=strict, require=required, excused=excused
        )
        honoured, honoured_unsupported = subject.declarations, subject.unsupported
        try:
            for prop in selected:
                progress.start(prop)
                result = spared(prop, misbehaved(results)) or verify_property(
                    prop,
                    subject,
                    target=target,
                    run=run,
                    on_example=partial(progress.example, prop),
                )
                involved = [prop.function, *(f for f in prop.calls if subject.has(f))]
                reasons = [reason for f in involved for reason in declared_away.get(f, ())]
                if reasons and subject.has(prop.function):
                    result = fail_declared_away(result, list(dict.fromkeys(reasons)))
                results.append(result)  # before it is shown: a Ctrl-C after that keeps it
                progress.finish(result)
                if exitfirst and not result.passed:
                    break
        except KeyboardInterrupt as stop:  # Ctrl-C: what ran still makes a (partial) result
            interrupted = stop
        finally:
            subject.declarations = declared
            if not started:
                subject.close()
    record_failed(run.database, target, results)
    outcome = VerificationResult(
        candidate=target,
        properties=results,
        settings=run.describe(
            isolated=isolate,
            unsupported=honoured_unsupported,
            declarations=honoured,
        )
        | {"strict": strict, "require": sorted(required)}
        | limits.describe(subject.fences if isolate else ())
        | {"fences_not_up": list(getattr(subject, "fences_not_up", ()))},
        environment=environment(),
        seconds=time.perf_counter() - start,
        not_run=[prop.name for prop in selected[len(results) :]],
        interrupted=[prop.name for prop in selected[len(results) : len(results) + 1]]
        if interrupted
        else [],
    )
    if interrupted is not None:
        interrupted.partial_result = outcome  # type: ignore[attr-defined]  # for the CLI
        raise interrupted
    for listener in result_listeners:
        listener(outcome)
    return outcome


def fail_declared_away(result: PropertyResult, reasons: list[str]) -> PropertyResult:
    """``result``, failed for the declarations a --strict or --require run does not honour.

    A property that failed on its own keeps its failure, with the declarations as hints.
    """
    if result.failure is not None:
        result.failure.hints[:0] = reasons
        return result
    result.status = Status.FAILED
    result.failure = Failure(
        kind=Kind.DECLARED_AWAY,
        case="None",
        case_fields={},
        message="; ".join(reasons),
        hints=[],
        worst=None,
        reproduce_command="",
        reproduce_snippet="",
    )
    return result


def _in_workers(selected, candidate, target, limits, run, jobs, exitfirst, progress):
    """The properties checked by ``jobs`` workers, each with a candidate process of its own."""
    from .parallel import Job, run_in_workers

    job = Job(
        target=target,
        command=candidate if isinstance(candidate, Command) else None,
        limits=limits,
        run=run,
        names=tuple(prop.name for prop in selected),
        needs_torch=_oracles_for(selected) is not None,
    )
    results, loaded = run_in_workers(
        job,
        jobs,
        exitfirst=exitfirst,
        on_start=lambda index: progress.start(selected[index]),
        on_example=lambda index, count: progress.example(selected[index], count),
        on_finish=progress.finish,
    )
    return spare_after_misbehaviour(selected[: len(results)], results), loaded


def assert_verified(candidate: object = DEFAULT_CANDIDATE, **options) -> VerificationResult:
    """``verify``, raising AssertionError that explains every failed property."""
    result = verify(candidate, **options)
    if not result.passed:
        raise AssertionError(
            f"{result.candidate} failed {len(result.failures)} properties\n\n{result.explain()}"
        )
    return result


def check_example(
    candidate: object,
    property_name: str,
    case: Case,
    *,
    isolate: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Run one property on one example; AssertionError with the explanation if it fails."""
    prop = property_named(property_name)
    target = target_of(candidate) if isolate or isinstance(candidate, str) else _name(candidate)
    subject = _candidate(candidate, target, isolate, Limits(timeout=timeout))
    try:
        outcome = evaluate(prop, subject, case)
        if outcome.kind == Kind.FALSIFIED:  # a remedy is shown only once seen to hold
            hints = confirmed(outcome.hints, subject, prop, case)
            outcome = replace(outcome, hints=tuple(hints))
    finally:
        subject.close()
    if not outcome.passed and outcome.kind != Kind.NOT_CHECKED:
        raise AssertionError(example_failed(prop, case, outcome))


def process_options(limits: Limits) -> tuple[str, ...]:
    """The ``cnnref verify`` options that set ``limits``, where they differ from the defaults."""
    options = []
    if limits.memory != DEFAULT_MEMORY:
        options.append(f"--memory {_size(limits.memory)}")
    if limits.cpu_seconds != DEFAULT_CPU_SECONDS:
        options.append(f"--cpu-time {limits.cpu_seconds or 'none'}")
    if limits.forbid:
        options.append(f"--forbid {','.join(limits.forbid)}")
    return tuple(options)


def _size(size: int | None) -> str:
    if size is None:
        return "none"
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)


def _oracles_for(selected: list[Property]) -> Callable[[], None] | None:
    """What to import while the candidate loads: PyTorch, if a selected property needs it."""
    return load_torch if any(prop.needs_torch for prop in selected) else None


def _candidate(
    candidate: object,
    target: str,
    isolate: bool,
    limits: Limits,
    meanwhile: Callable[[], None] | None = None,
) -> IsolatedCandidate | LoadedCandidate:
    if isinstance(candidate, Command):
        if not isolate:
            raise ValueError(
                f"{candidate!r} runs in a process of its own: isolate=False is for Python candidates"
            )
        return IsolatedCandidate(target, limits, candidate).start(meanwhile)
    if isolate:
        return IsolatedCandidate(target, limits).start(meanwhile)
    found = import_target(candidate) if isinstance(candidate, str) else candidate
    return LoadedCandidate.from_object(target, found)


def _name(candidate: object) -> str:
    try:
        return target_of(candidate)
    except TypeError:
        return repr(candidate)


__all__ = [
    "CandidateLoadError",
    "Command",
    "Conventions",
    "Declarations",
    "Kind",
    "Progress",
    "SelectionError",
    "Status",
    "VerificationResult",
    "assert_verified",
    "check_example",
    "declare",
    "read_declarations",
    "select_properties",
    "verify",
]
