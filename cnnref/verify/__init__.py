"""Verify any implementation of conv2d / max_pool2d and their gradients.

>>> from cnnref.verify import assert_verified
>>> assert_verified("mypackage.layers")          # doctest: +SKIP

``verify`` returns a ``VerificationResult``; ``assert_verified`` raises
AssertionError with every failure explained; ``check_example`` re-runs one
property on one example (the reproduction a failure prints).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from ..properties import FUNCTIONS, PROPERTIES, Property, property_named
from .candidate import (
    DEFAULT_CANDIDATE,
    CandidateLoadError,
    LoadedCandidate,
    import_target,
    target_of,
)
from .environment import environment
from .evaluate import Outcome, evaluate
from .results import PropertyResult, VerificationResult
from .runner import DEFAULT_EXAMPLES, DEFAULT_TIMEOUT, RunSettings, verify_property
from .sandbox import Sandbox

OP_GROUPS = {"conv": ("conv2d", "conv2d_backward"), "pool": ("max_pool2d", "max_pool2d_backward")}

# Called with every VerificationResult: the pytest plugin collects them for its report.
result_listeners: list[Callable[[VerificationResult], None]] = []


class Progress:
    """Callbacks a verification run makes; the CLI prints them."""

    def start(self, prop: Property) -> None: ...

    def example(self, prop: Property, count: int) -> None: ...

    def finish(self, result: PropertyResult) -> None: ...


def select_properties(
    ops: Iterable[str] | None = None, names: Iterable[str] | None = None
) -> list[Property]:
    """The properties for the given functions (or 'conv', 'pool') and/or property names."""
    functions = set()
    for op in ops or FUNCTIONS:
        if op not in FUNCTIONS and op not in OP_GROUPS:
            raise ValueError(
                f"unknown op {op!r}; choose from {', '.join((*FUNCTIONS, *OP_GROUPS))}"
            )
        functions.update(OP_GROUPS.get(op, (op,)))
    chosen = [prop for prop in PROPERTIES if prop.function in functions]
    if names:
        wanted = {property_named(name).name for name in names}
        chosen = [prop for prop in chosen if prop.name in wanted]
    return chosen


class InProcess:
    """Evaluate in this process: no protection from crashes or hangs, but no pickling either."""

    def __init__(self, candidate: LoadedCandidate) -> None:
        self.candidate = candidate
        self.functions = sorted(candidate.functions)
        self.unsupported = candidate.unsupported

    def evaluate(self, property_name: str, case: object) -> Outcome:
        return evaluate(property_name, self.candidate, case)

    def close(self) -> None: ...


def verify(
    candidate: object = DEFAULT_CANDIDATE,
    *,
    ops: Iterable[str] | None = None,
    properties: Iterable[str] | None = None,
    examples: int = DEFAULT_EXAMPLES,
    seed: int | None = None,
    dtype: str = "float64",
    timeout: float = DEFAULT_TIMEOUT,
    isolate: bool = True,
    exitfirst: bool = False,
    progress: Progress | None = None,
) -> VerificationResult:
    """Check every property of the functions ``candidate`` exposes.

    ``candidate`` is a module, an object with the functions as attributes, or
    a ``"module"`` / ``"module:attr"`` string.  With ``isolate`` (the
    default) it runs in a child process, so a crash or a hang (``timeout``
    seconds per call) fails a property instead of the whole run.  With
    ``exitfirst`` the run stops at the first failed property.
    """
    progress = progress or Progress()
    run = RunSettings(examples=examples, seed=seed, dtype=dtype, timeout=timeout)
    selected = select_properties(ops, properties)
    target = target_of(candidate) if isolate or isinstance(candidate, str) else _name(candidate)
    executor = _executor(candidate, target, isolate, timeout)
    start = time.perf_counter()
    results = []
    try:
        for prop in selected:
            progress.start(prop)
            result = verify_property(
                prop,
                executor,
                target=target,
                run=run,
                on_example=lambda n, prop=prop: progress.example(prop, n),
            )
            progress.finish(result)
            results.append(result)
            if exitfirst and not result.passed:
                break
    finally:
        executor.close()
    outcome = VerificationResult(
        candidate=target,
        properties=results,
        settings=run.describe(isolated=isolate, unsupported=executor.unsupported),
        environment=environment(),
        seconds=time.perf_counter() - start,
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
    executor = _executor(candidate, target, isolate, timeout)
    try:
        outcome = executor.evaluate(prop.name, case)
    finally:
        executor.close()
    if not outcome.passed:
        hints = "".join(f"\n  - {hint}" for hint in outcome.hints)
        raise AssertionError(f"{prop.name} ({outcome.kind}) on {case!r}\n{outcome.message}{hints}")


def _executor(candidate: object, target: str, isolate: bool, timeout: float):
    if isolate:
        return Sandbox(target, timeout=timeout).start()
    found = import_target(candidate) if isinstance(candidate, str) else candidate
    return InProcess(LoadedCandidate.from_object(target, found))


def _name(candidate: object) -> str:
    try:
        return target_of(candidate)
    except TypeError:
        return repr(candidate)


__all__ = [
    "CandidateLoadError",
    "Progress",
    "VerificationResult",
    "assert_verified",
    "check_example",
    "select_properties",
    "verify",
]
