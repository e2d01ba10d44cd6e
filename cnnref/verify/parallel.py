"""Check properties in several worker processes at once, each with its own candidate process.

Each worker starts the candidate under the run's limits (the same fences as a
serial run), then takes properties from one queue in the run's order and sends
back each result.  A property draws its examples from its own seed, so where it
ran changes nothing: the results, put back in the run's order, are a serial
run's.  With ``exitfirst`` the run keeps what a serial run would have: every
property up to the first one (in the run's order) that failed.  A property past
it that is still running is abandoned, one not started is skipped.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from ..checks import Property, property_named
from ..declarations import Declarations
from ..ops import FUNCTIONS
from ..results import FATAL, PropertyResult
from ..sandbox.process import Limits
from ..sandbox.target import CandidateLoadError, Command
from .candidate import IsolatedCandidate
from .runner import RunSettings, involved, load_torch, not_covered, verify_property


@dataclass(frozen=True)
class Job:
    """What every worker needs to check properties of one candidate."""

    target: str
    command: Command | None
    limits: Limits
    run: RunSettings
    names: tuple[str, ...]  # the run's properties, in order
    needs_torch: bool  # imported while the candidate loads


@dataclass
class Loaded:
    """What a worker's candidate declared, as the report records it."""

    unsupported: frozenset[str]
    declarations: Declarations
    fences: tuple[str, ...]


class _Abandoned(BaseException):
    """Raised out of Hypothesis when the property is past the run's first failure."""


def run_in_workers(
    job: Job,
    jobs: int,
    *,
    exitfirst: bool,
    on_start: Callable[[int], None],
    on_example: Callable[[int, int], None],
    on_finish: Callable[[PropertyResult], None],
) -> tuple[list[PropertyResult], Loaded]:
    """Each of ``job.names`` checked by one of ``jobs`` workers; the results in the run's order.

    CandidateLoadError if a worker cannot load the candidate.  The callbacks take the
    property's index in ``job.names`` (and the examples run so far).
    """
    context = _context()
    tasks, replies = context.Queue(), context.Queue()
    stop_after = context.Value("i", len(job.names))  # the lowest failed index, under exitfirst
    # Per function (FUNCTIONS' order), the index of the first property it hung or crashed in.
    misbehaved_at = context.Array("i", [len(job.names)] * len(FUNCTIONS))
    for index in range(len(job.names)):
        tasks.put(index)
    workers = [
        context.Process(  # type: ignore[attr-defined]  # a fork or forkserver context
            target=_work,
            args=(job, tasks, replies, stop_after, misbehaved_at),
            name=f"cnnref-verify-{n}",
            daemon=True,
        )
        for n in range(min(jobs, len(job.names)))
    ]
    for _ in workers:
        tasks.put(None)
    for worker in workers:
        worker.start()
    results: dict[int, PropertyResult] = {}
    loaded: Loaded | None = None
    load_error: str | None = None
    finished = 0
    try:
        while finished < len(workers):
            try:
                message = replies.get(timeout=1.0)
            except queue.Empty:
                if all(worker.exitcode is not None for worker in workers) and replies.empty():
                    break  # a worker was killed before it could say so
                continue
            kind = message[0]
            if kind == "ready":
                loaded = loaded or message[1]
            elif kind == "load-error":
                load_error = load_error or message[1]
                stop_after.value = -1
            elif kind == "start":
                on_start(message[1])
            elif kind == "example":
                on_example(message[1], message[2])
            elif kind == "finish":
                index, result = message[1], message[2]
                results[index] = result
                on_finish(result)
                if exitfirst and not result.passed:
                    with stop_after.get_lock():
                        stop_after.value = min(stop_after.value, index)
                failure = result.failure
                if failure is not None and failure.kind in FATAL and failure.function:
                    slot = FUNCTIONS.index(failure.function)
                    with misbehaved_at.get_lock():
                        misbehaved_at[slot] = min(misbehaved_at[slot], index)
            elif kind == "done":
                finished += 1
    except KeyboardInterrupt as stop:  # Ctrl-C: the properties finished in the run's order stay
        stop_after.value = -1
        for worker in workers:
            worker.terminate()
        done = [results[index] for index in range(len(job.names)) if index in results]
        ran = done[: next((k for k, r in enumerate(done) if r.name != job.names[k]), len(done))]
        stop.partial = (ran, loaded)  # type: ignore[attr-defined]  # for verify()
        raise
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():  # it closes its candidate when it ends; this one did not end
                worker.kill()
    if load_error is not None:
        raise CandidateLoadError(load_error)
    last = min(stop_after.value, len(job.names) - 1)
    missing = [job.names[index] for index in range(last + 1) if index not in results]
    if missing or loaded is None:
        codes = [worker.exitcode for worker in workers]
        raise RuntimeError(
            f"a verification worker ended before it checked {', '.join(missing)} "
            f"(exit codes {codes})"
        )
    return [results[index] for index in range(last + 1)], loaded


def _context() -> multiprocessing.context.BaseContext:
    """Fork (the verifier's modules come along, ready) unless PyTorch is loaded here: its
    thread pools do not survive a fork, so then a fork server's clean process is forked."""
    return multiprocessing.get_context("forkserver" if "torch" in sys.modules else "fork")


def _work(job: Job, tasks, replies, stop_after, misbehaved_at) -> None:
    """A worker: start the candidate, then check the properties the queue hands out."""
    _forget_hypothesis_random()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    candidate = IsolatedCandidate(job.target, job.limits, job.command)
    try:
        try:
            candidate.start(load_torch if job.needs_torch else None)
        except CandidateLoadError as error:
            replies.put(("load-error", str(error)))
            return
        replies.put(
            ("ready", Loaded(candidate.unsupported, candidate.declarations, candidate.fences))
        )
        while (index := tasks.get()) is not None:
            if index > stop_after.value:
                continue
            prop: Property = property_named(job.names[index])
            replies.put(("start", index))
            slots = [FUNCTIONS.index(f) for f in involved(prop) if f in FUNCTIONS]

            def spared_now(index: int = index, slots: list[int] = slots) -> bool:
                """A function this property calls hung or crashed in an earlier property:
                its result will be ``spared``'s, whatever it would be."""
                return any(misbehaved_at[slot] < index for slot in slots)

            def example(count: int, index: int = index) -> None:
                if index > stop_after.value or spared_now():
                    raise _Abandoned
                replies.put(("example", index, count))

            if spared_now():
                replies.put(("finish", index, not_covered(prop, "spared")))
                continue

            try:
                result = verify_property(
                    prop, candidate, target=job.target, run=job.run, on_example=example
                )
            except _Abandoned:
                if spared_now():  # its place in the results is kept; ``spared`` fills it
                    replies.put(("finish", index, not_covered(prop, "spared")))
                continue
            replies.put(("finish", index, result))
    finally:
        candidate.close()
        replies.put(("done",))


def _forget_hypothesis_random() -> None:
    """A forked worker would draw the parent's random seeds: let Hypothesis make its own."""
    try:
        from hypothesis.core import threadlocal
    except ImportError:  # another Hypothesis version: it seeds on its own
        return
    threadlocal._hypothesis_global_random = None
