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

from ..declarations import Conventions, Declarations, declare
from ..declarations import read as read_declarations
from ..ops import GROUPS
from ..oracles.torch_autograd import torch_available
from ..properties import FUNCTIONS, PROPERTIES, Property, property_named
from ..results import Kind, PropertyResult, Status, VerificationResult
from ..sandbox.process import DEFAULT_CPU_SECONDS, DEFAULT_MEMORY, Limits
from .candidate import (
    DEFAULT_CANDIDATE,
    CandidateLoadError,
    Command,
    IsolatedCandidate,
    LoadedCandidate,
    import_target,
    target_of,
)
from .environment import environment
from .evaluate import evaluate
from .runner import DEFAULT_EXAMPLES, DEFAULT_TIMEOUT, RunSettings, verify_property, with_inputs

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
    functions = set()
    for op in ops or FUNCTIONS:
        if op not in FUNCTIONS and op not in GROUPS:
            raise ValueError(f"unknown op {op!r}; choose from {', '.join((*FUNCTIONS, *GROUPS))}")
        functions.update(GROUPS.get(op, (op,)))
    chosen = [prop for prop in PROPERTIES if prop.function in functions]
    if names:
        wanted = {property_named(name).name for name in names}
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
    progress: Progress | None = None,
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
    ``isolate=False`` calls the candidate in this process: faster to debug,
    but with no protection and no integrity guarantee.  With ``exitfirst``
    the run stops at the first failed property.  Examples are float64,
    float32, float16 and bfloat16, drawn per example, unless ``dtype`` pins one
    (or the candidate declares some of them unsupported).
    """
    progress = progress or Progress()
    started = isinstance(candidate, IsolatedCandidate)
    if started:
        limits, timeout = candidate.process.limits, candidate.process.limits.timeout
    else:
        limits = Limits(
            timeout=timeout, memory=memory, cpu_seconds=cpu_seconds, forbid=tuple(forbid)
        )
    run = RunSettings(
        examples=examples,
        seed=seed,
        dtype=dtype,
        timeout=timeout,
        process_options=process_options(limits) if isolate else (),
    )
    selected = select_properties(ops, properties)
    start = time.perf_counter()
    if started:
        target, subject = candidate.target, candidate
    else:
        target = target_of(candidate) if isolate or isinstance(candidate, str) else _name(candidate)
        subject = _candidate(candidate, target, isolate, limits, meanwhile=_oracles_for(selected))
    results = []
    try:
        for prop in selected:
            progress.start(prop)
            result = verify_property(
                prop,
                subject,
                target=target,
                run=run,
                on_example=lambda n, prop=prop: progress.example(prop, n),
            )
            progress.finish(result)
            results.append(result)
            if exitfirst and not result.passed:
                break
    finally:
        if not started:
            subject.close()
    outcome = VerificationResult(
        candidate=target,
        properties=results,
        settings=run.describe(
            isolated=isolate,
            unsupported=subject.unsupported,
            declarations=subject.declarations,
        )
        | limits.describe(subject.fences if isolate else ()),
        environment=environment(),
        seconds=time.perf_counter() - start,
        not_run=[prop.name for prop in selected[len(results) :]],
    )
    for listener in result_listeners:
        listener(outcome)
    return outcome


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
    case: object,
    *,
    isolate: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Run one property on one example; AssertionError with the explanation if it fails."""
    prop = property_named(property_name)
    target = target_of(candidate) if isolate or isinstance(candidate, str) else _name(candidate)
    subject = _candidate(candidate, target, isolate, Limits(timeout=timeout))
    try:
        outcome = evaluate(prop.name, subject, case)
    finally:
        subject.close()
    if not outcome.passed and outcome.kind != Kind.NOT_CHECKED:
        hints = "".join(f"\n  - {hint}" for hint in outcome.hints)
        message = with_inputs(outcome.message, case, prop)
        raise AssertionError(f"{prop.name} ({outcome.kind}) on {case!r}\n{message}{hints}")


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


def _oracles_for(selected: list[Property]) -> Callable[[], None]:
    """Import PyTorch, if a selected property needs it: seconds, spent while the candidate loads."""

    def load() -> None:
        if any(prop.needs_torch for prop in selected) and torch_available():
            import torch  # noqa: F401

    return load


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
