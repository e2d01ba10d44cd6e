"""The implementation under test, as the properties see it: ``has`` and ``call``.

A candidate is named ``package.module`` or ``package.module:attr`` and
exposes any of cnnref's functions, with their signatures; or it is a
``Command``, a program in any language that answers the same requests
(docs/protocol.md) and always runs isolated.  It may list features it does
not support in ``CNNREF_UNSUPPORTED`` (never drawn) and the pooling
conventions it follows in ``CNNREF_CONVENTIONS`` (``cnnref.declarations``).

``IsolatedCandidate`` (the default) runs it in a fenced process of its own
and every ``call`` is a request to that process; ``LoadedCandidate`` calls
it in this process, with no protection and no integrity guarantee.  Both
read the same to a property.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import declarations
from ..checks import FUNCTIONS, CandidateRaised, Falsified
from ..declarations import NOTHING_DECLARED, Declarations
from ..ops.signatures import argument_names
from ..options import DEFAULT_CANDIDATE
from ..sandbox.child import signatures_problem
from ..sandbox.process import CandidateProcess, CandidateProcessFailed, Limits, RemoteRaised
from ..sandbox.signatures import expected_calls
from ..sandbox.target import CandidateLoadError, Command, import_target, target_of
from ..sandbox.wire import shared_memory


@dataclass
class Watched:
    """A call's result, and which of its outputs share memory with which arguments.

    ``shared`` holds (output position, argument position) pairs; an output
    position counts the items of a tuple result, or is 0 for a single array.
    """

    result: Any
    shared: set[tuple[int, int]] = field(default_factory=set)


@dataclass
class CallClock:
    """Seconds spent in a candidate's calls: in all (as the verifier waits for them), and in
    the candidate's own code (the rest is the round trip: transfer and process switches)."""

    waited: float = 0.0
    own: float = 0.0


@dataclass
class LoadedCandidate:
    """A candidate's functions, called in this process."""

    target: str
    functions: dict[str, Callable[..., Any]]
    declarations: Declarations = NOTHING_DECLARED
    fences: tuple[str, ...] = ()
    clock: CallClock = field(default_factory=CallClock)

    @classmethod
    def from_object(cls, target: str, found: object) -> LoadedCandidate:
        functions = {
            name: getattr(found, name) for name in FUNCTIONS if callable(getattr(found, name, None))
        }
        declared = _declared(target, declarations.read, found)
        problem = signatures_problem(found, functions, expected_calls(functions))
        if problem:
            raise CandidateLoadError(f"{target!r}: {problem}")
        return cls(target, _require_functions(target, functions), declared)

    @property
    def unsupported(self) -> frozenset[str]:
        """Every feature declared unsupported, for any function."""
        return self.declarations.unsupported_for(*FUNCTIONS)

    @classmethod
    def load(cls, target: str) -> LoadedCandidate:
        return cls.from_object(target, import_target(target))

    def has(self, function: str) -> bool:
        return function in self.functions

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return self.functions[function](*args, **kwargs)
        except (Exception, SystemExit) as error:
            raise CandidateRaised(
                function, type(error).__name__, str(error), traceback.format_exc(limit=-4)
            ) from None
        finally:
            seconds = time.perf_counter() - began
            self.clock.waited += seconds
            self.clock.own += seconds

    def call_many(self, function: str, calls: Sequence[tuple[Sequence, dict]]) -> list:
        return [self.call(function, *args, **kwargs) for args, kwargs in calls]

    def call_watched(self, function: str, args: Sequence, kwargs: dict) -> Watched:
        result = self.call(function, *args, **kwargs)
        return Watched(result, {(out, arg) for out, arg in shared_memory(result, args)})

    def close(self) -> None: ...


class IsolatedCandidate:
    """A candidate in a process of its own: each ``call`` sends the inputs and reads the result.

    Arrays arrive in the layout they were sent in (Fortran order, strided and
    reversed views included).  ``call_watched`` also copies the arguments as
    the candidate's call left them back into the caller's arrays, so that an
    in-place change shows here just as it would in one process.
    """

    def __init__(
        self, target: str, limits: Limits | None = None, command: Command | None = None
    ) -> None:
        self.target = target
        self.command = command  # a program in any language instead of a Python module
        self.process = CandidateProcess(target, FUNCTIONS, limits or Limits(), command)
        self.functions: tuple[str, ...] = ()
        self.declarations: Declarations = NOTHING_DECLARED
        self.clock = CallClock()

    def start(self, meanwhile: Callable[[], object] | None = None) -> IsolatedCandidate:
        """Start the candidate's process; CandidateLoadError (and no process left) if it cannot.

        ``meanwhile`` runs in this process while the candidate loads in its own.
        """
        self.process.start(meanwhile)
        try:
            self.functions = tuple(_require_functions(self.target, self.process.functions))
            raw = (self.process.unsupported, self.process.conventions)
            self.declarations = _declared(self.target, declarations.parse, *raw)
            if self.command is not None:
                self.declarations = self.declarations.also_unsupported(PROTOCOL_SPELLING)
        except CandidateLoadError:
            self.close()
            raise
        return self

    @property
    def fences(self) -> tuple[str, ...]:
        return tuple(self.process.fences)

    @property
    def fences_not_up(self) -> tuple[str, ...]:
        """Fences asked for that the kernel could not put up (or this side not confirm)."""
        return tuple(self.process.fences_not_up)

    @property
    def unsupported(self) -> frozenset[str]:
        """Every feature declared unsupported, for any function."""
        return self.declarations.unsupported_for(*FUNCTIONS)

    def has(self, function: str) -> bool:
        return function in self.functions

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        return self.call_many(function, [(args, kwargs)])[0]

    def call_many(self, function: str, calls: Sequence[tuple[Sequence, dict]]) -> list:
        """Each call's result, in order; the calls travel together (one round trip)."""
        return [returned.value for returned in self._calls(function, calls, echo=False)]

    def call_watched(self, function: str, args: Sequence, kwargs: dict) -> Watched:
        (returned,) = self._calls(function, [(args, kwargs)], echo=True)
        for name, arg, after in zip(argument_names(function), args, returned.inputs):
            if isinstance(arg, np.ndarray) and isinstance(after, np.ndarray):
                if after.shape != arg.shape or after.dtype != arg.dtype:
                    raise Falsified(
                        f"{function} changed the shape or dtype of its argument {name} in place"
                    )
                np.copyto(arg, after)
        return Watched(returned.value, returned.shared)

    def _calls(self, function: str, calls: Sequence[tuple[Sequence, dict]], *, echo: bool):
        began = time.perf_counter()
        own = None
        try:
            returned = self.process.call_many(
                function, [(tuple(args), kwargs) for args, kwargs in calls], echo=echo
            )
            if all(each.seconds is not None for each in returned):
                own = sum(each.seconds or 0.0 for each in returned)
            return returned
        except RemoteRaised as raised:
            raise CandidateRaised(
                function, raised.error_type, raised.message, raised.traceback_text
            ) from None
        except CandidateProcessFailed as failed:
            failed.function = function  # which function to spare the others' time on
            raise
        finally:
            waited = time.perf_counter() - began
            self.clock.waited += waited
            self.clock.own += waited if own is None else min(own, waited)

    def close(self) -> None:
        self.process.close()


def _require_functions(target: str, functions) -> Any:
    if not functions:
        raise CandidateLoadError(f"{target!r} exposes none of {', '.join(FUNCTIONS)}")
    return functions


# The wire protocol sends every argument, as a pair where it is one (docs/protocol.md):
# Python's plain ints and default arguments are not drawn for a program in another language.
PROTOCOL_SPELLING = ("int_arguments", "omitted_arguments")


def _declared(target: str, parse: Callable[..., Declarations], *raw: object) -> Declarations:
    """The candidate's CNNREF_UNSUPPORTED and CNNREF_CONVENTIONS, validated: a load error if not."""
    try:
        return parse(*raw)
    except ValueError as error:
        raise CandidateLoadError(f"{target!r}: {error}") from None


__all__ = [
    "DEFAULT_CANDIDATE",
    "CandidateLoadError",
    "Command",
    "IsolatedCandidate",
    "LoadedCandidate",
    "Watched",
    "import_target",
    "target_of",
]
