"""The verifier's side of the boundary: start the candidate's process, call it, end it.

Every call is a request frame with the inputs and a reply frame with what
came back (``wire``), read with the per-call time limit and a byte limit.
A hang, a death, or a reply cnnref cannot read ends the process (and every
process it started) and raises; the next call starts a fresh one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..results import Kind
from . import wire
from .target import CandidateLoadError, Command

# The verifier and the candidate take turns and never compute at once; OpenMP threads
# (PyTorch's) that spin after each call would take the other's core.  PASSIVE makes them
# sleep at once; a user's own setting wins.
QUIET_WHEN_IDLE = {"OMP_WAIT_POLICY": "PASSIVE"}
# How long starting the process and importing the candidate may take.
IMPORT_LIMIT = 120.0
DEFAULT_TIMEOUT = 10.0  # seconds one call may take
DEFAULT_MEMORY = 8 << 30
DEFAULT_CPU_SECONDS = None  # the per-call --timeout bounds each call; graders may add a total
# Signals the kernel sends when a limit of ours is reached, and the option that sets it.
LIMIT_SIGNALS = {
    "SIGXCPU": "the CPU-time limit, --cpu-time",
    "SIGXFSZ": "the 1 GiB file-size limit",
}


@dataclass(frozen=True)
class Limits:
    """What the candidate's process may use."""

    timeout: float = DEFAULT_TIMEOUT  # seconds per call
    memory: int | None = DEFAULT_MEMORY  # bytes of address space; None: no limit
    cpu_seconds: int | None = DEFAULT_CPU_SECONDS  # per candidate process; None: no limit
    forbid: tuple[str, ...] = ()  # modules the candidate may not import

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ValueError(f"timeout must be > 0 seconds; got {self.timeout}")
        if self.memory is not None and self.memory < 256 << 20:
            raise ValueError(f"memory must be at least 256 MiB; got {self.memory} bytes")
        if self.cpu_seconds is not None and self.cpu_seconds < 1:
            raise ValueError(f"cpu_seconds must be >= 1; got {self.cpu_seconds}")

    def describe(self, fences: tuple[str, ...] | list[str]) -> dict:
        """The limits as a report records them, with the fences that were put up."""
        return {
            "memory": self.memory,
            "cpu_seconds": self.cpu_seconds,
            "forbid": list(self.forbid),
            "fences": list(fences),
        }


class CandidateProcessFailed(Exception):
    """The candidate's process hung, died, or sent what cnnref cannot read."""

    kind: Kind


class CandidateHung(CandidateProcessFailed):
    kind = Kind.HUNG


class CandidateCrashed(CandidateProcessFailed):
    kind = Kind.CRASHED


class CandidateUnreadable(CandidateProcessFailed):
    kind = Kind.UNREADABLE


class RemoteRaised(Exception):
    """The candidate raised: its type, message and traceback, as text."""

    def __init__(self, function: str, error_type: str, message: str, traceback_text: str) -> None:
        super().__init__(f"{function} raised {error_type}: {message}")
        self.function, self.error_type = function, error_type
        self.message, self.traceback_text = message, traceback_text


@dataclass
class Returned:
    """What one call gave back: the value, which outputs share memory with which inputs,
    and (when asked for) the inputs as the call left them."""

    value: object
    shared: set[tuple[int, int]] = field(default_factory=set)
    inputs: list | None = None
    seconds: float | None = None  # the call's own time, as the candidate's process measured it


class CandidateProcess:
    """The verifier's handle on the process that runs one candidate."""

    def __init__(
        self,
        target: str,
        functions: tuple[str, ...],
        limits: Limits | None = None,
        command: Command | None = None,
    ) -> None:
        self.target = target
        self.wanted = functions
        self.limits = limits or Limits()
        # A program in any language, run in place of the Python runner (docs/protocol.md).
        self.command = command
        self.functions: list[str] = []
        self.unsupported: object = []  # CNNREF_UNSUPPORTED and CNNREF_CONVENTIONS, as JSON
        self.conventions: object = None
        self.fences: list[str] = []
        self._process: subprocess.Popen | None = None
        self._channel: wire.Channel | None = None
        self._workdir: str | None = None
        self._log = Path(tempfile.mkstemp(prefix="cnnref-candidate-", suffix=".log")[1])
        self._calls = 0
        # True while a call is under way: after Ctrl-C the process cannot be asked to exit.
        self._in_call = False

    # ------------------------------------------------------------ life cycle

    def start(self, meanwhile: Callable[[], object] | None = None) -> CandidateProcess:
        """Start the process and load the candidate; CandidateLoadError if it cannot be loaded.

        ``meanwhile`` runs here while the candidate loads in its process (the
        verifier's own slow imports, say): the two take turns everywhere else.
        """
        if self._process is not None:
            return self
        argv = self.command.resolved() if self.command else None
        if argv and self.limits.forbid:
            raise CandidateLoadError(
                f"{self.target!r}: forbidding imports (--forbid) applies to Python candidates only"
            )
        self._workdir = tempfile.mkdtemp(prefix="cnnref-candidate-")
        package_root = str(Path(__file__).resolve().parents[2])
        environment = (
            QUIET_WHEN_IDLE
            | os.environ
            | {
                "PYTHONPATH": os.pathsep.join(
                    filter(None, [package_root, os.environ.get("PYTHONPATH")])
                )
            }
        )
        with open(self._log, "a") as log:  # appending, so truncating it between calls is safe
            self._process = subprocess.Popen(
                [sys.executable, "-m", "cnnref.sandbox.child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=environment,
                cwd=self._workdir,
                start_new_session=True,
            )
        requests, replies = self._process.stdin.fileno(), self._process.stdout.fileno()
        for fd in (requests, replies):
            os.set_blocking(fd, False)
            with contextlib.suppress(OSError, AttributeError):  # 1 MiB pipes: fewer wake-ups
                fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
        self._channel = wire.Channel(replies, requests)
        load = {
            "op": "load",
            "target": self.target,
            "functions": list(self.wanted),
            # Absolute: the candidate's process works in its own directory, where "" and
            # relative entries would point elsewhere than they do here.
            "sys_path": [os.path.abspath(entry) for entry in sys.path],
            "workdir": self._workdir,
            "memory": self.limits.memory,
            "cpu_seconds": self.limits.cpu_seconds,
            "forbid": list(self.limits.forbid),
            "command": argv,
        }
        deadline = time.monotonic() + IMPORT_LIMIT
        fences = None
        try:
            self._channel.send(wire.pack(load), deadline)
            if meanwhile is not None:
                meanwhile()
            reply = self._channel.receive(deadline, byte_limit=0)
            if argv and reply.get("op") == "fenced":
                # The runner's account of its fences, sent before it runs the program: the
                # program's own ready reply need not (and cannot) state them.
                fences = reply.get("fences")
                reply = self._channel.receive(deadline, byte_limit=0)
        except (wire.TimedOut, wire.Closed, wire.Malformed, OSError) as error:
            timed_out = isinstance(error, wire.TimedOut)
            # Only a process that closed the pipe is dying: wait for its exit status.
            dying = isinstance(error, (wire.Closed, OSError))
            exit_code = self.stop(grace=5.0 if dying else 0.0)
            if timed_out:
                how = f"it did not answer 'ready' within {IMPORT_LIMIT:g} s"
            elif isinstance(error, wire.Malformed):
                how = f"its reply is not a frame of the protocol: {error}"
            else:
                how = f"it ended before it answered 'ready': {describe_exit(exit_code)}"
            if argv:
                how += "; a --command program must speak docs/protocol.md"
            raise CandidateLoadError(
                f"loading {self.target!r} failed ({how}){self._output_tail()}"
            ) from None
        if reply.get("op") == "load-error":
            self.stop()
            raise CandidateLoadError(str(reply.get("message")))
        if fences is None:
            fences = reply.get("fences")
        lists = [reply.get("functions"), fences]
        if reply.get("op") != "ready" or not all(_strings(value) for value in lists):
            self.stop()
            raise CandidateLoadError(
                f"loading {self.target!r} failed: an unexpected reply (expected op 'ready' with "
                f"lists of strings; got {_short(reply)})"
            )
        functions, fences = lists
        # Plain JSON as the candidate declared them; the verifier validates them.
        self.unsupported, self.conventions = reply.get("unsupported"), reply.get("conventions")
        self.functions = [name for name in functions if name in self.wanted]
        self.fences = [
            "its own session and process group; every process it starts is ended with it",
            "a private working directory, removed afterwards",
            *fences,
        ]
        return self

    def stop(self, grace: float = 0.0) -> int | None:
        """End the process and everything it started; return its exit code.

        ``grace``: seconds a process that is already dying gets to finish, so
        that its exit status (the signal that killed it) can be reported.
        """
        process, self._process = self._process, None
        self._in_call = False
        if process is None:
            return None
        try:
            exit_code = process.wait(timeout=grace) if grace else None
        except subprocess.TimeoutExpired:
            exit_code = None
        if exit_code is None:
            with contextlib.suppress(OSError):
                process.send_signal(signal.SIGTERM)  # the keeper kills the runner and its orphans
            try:
                exit_code = process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(process.pid, signal.SIGKILL)
                exit_code = process.wait()
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)  # stragglers still in the session's group
        for pipe in (process.stdin, process.stdout):
            with contextlib.suppress(OSError):
                pipe.close()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        return exit_code

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None and not self._in_call:
            with contextlib.suppress(wire.TimedOut, OSError):
                self._channel.send(wire.pack({"op": "exit"}), time.monotonic() + 1.0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
        self.stop()
        self._log.unlink(missing_ok=True)

    def __enter__(self) -> CandidateProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------ calls

    def call(self, function: str, args: tuple, kwargs: dict, *, echo: bool = False) -> Returned:
        """Call ``function`` in the candidate's process; raise what went wrong.

        RemoteRaised: the candidate raised.  CandidateHung, CandidateCrashed,
        CandidateUnreadable: the process is ended (and restarted by the next call).
        """
        return self.call_many(function, [(args, kwargs)], echo=echo)[0]

    def call_many(
        self, function: str, calls: list[tuple[tuple, dict]], *, echo: bool = False
    ) -> list[Returned]:
        """``call`` for each (args, kwargs), in order: one request, one reply per call.

        The candidate's process makes the calls one after another, exactly as
        separate calls; sending them together saves a round trip each.  Each
        call still has the whole per-call time limit.  The first call that
        raises ends the batch.
        """
        self.start()
        if self._log.stat().st_size:
            os.truncate(self._log, 0)  # keep only this batch's output
        first = self._calls + 1
        self._calls += len(calls)
        frame = wire.pack(
            {"op": "calls", "id": first, "function": function, "echo": echo},
            exact_layout=True,
            args=[tuple(args) for args, _ in calls],
            kwargs=[dict(kwargs) for _, kwargs in calls],
        )
        sent = sum(len(memoryview(chunk).cast("B")) for chunk in frame)
        self._in_call = True
        returned = []
        try:
            self._channel.send(frame, time.monotonic() + self.limits.timeout)
            for offset, (args, _) in enumerate(calls):
                reply = self._channel.receive(
                    time.monotonic() + self.limits.timeout, byte_limit=64 * sent + (64 << 20)
                )
                returned.append(self._returned(function, first + offset, len(args), reply, echo))
            self._in_call = False
        except wire.TimedOut:
            self.stop()
            raise CandidateHung(
                f"{function} did not return within {self.limits.timeout:g} s "
                "(the per-call time limit, --timeout)"
            ) from None
        except (wire.Closed, OSError):
            exit_code = self.stop(grace=5.0)
            raise CandidateCrashed(
                f"the process running the candidate died ({describe_exit(exit_code)}) "
                f"while calling {function}{self._output_tail()}"
            ) from None
        except wire.Malformed as error:
            self.stop()
            raise CandidateUnreadable(
                f"{function} returned something cnnref cannot read: {error} (the candidate's process "
                "wrote to the pipe cnnref reads its results from)"
            ) from None
        except RemoteRaised:
            self._in_call = False  # the batch ends at the first call that raised
            raise
        return returned

    def _returned(
        self, function: str, call_id: int, arity: int, reply: dict, echo: bool
    ) -> Returned:
        def unreadable(what: str) -> CandidateUnreadable:
            self.stop()
            return CandidateUnreadable(f"{function} returned something cnnref cannot read: {what}")

        if reply.get("id") != call_id:
            raise unreadable(
                f"a reply to call {reply.get('id')!r} while waiting for call {call_id}"
            )
        values = reply["values"]
        if reply.get("op") == "raised":
            fields = [reply.get(key) for key in ("error_type", "message", "traceback")]
            if not all(isinstance(text, str) for text in fields):
                raise unreadable("an exception report without its type, message and traceback")
            raise RemoteRaised(function, *fields)
        if reply.get("op") != "returned" or "value" not in values:
            raise unreadable(f"a reply of kind {reply.get('op')!r}")
        shared = reply.get("shared")
        if not isinstance(shared, list) or not all(
            isinstance(pair, list) and len(pair) == 2 and all(type(i) is int for i in pair)
            for pair in shared
        ):
            raise unreadable("a malformed list of outputs that share memory with inputs")
        inputs = values.get("inputs")
        if echo and not (isinstance(inputs, list) and len(inputs) == arity):
            raise unreadable("the inputs as the call left them are missing")
        seconds = reply.get("seconds")  # optional: a --command program need not send it
        return Returned(
            values["value"],
            {tuple(pair) for pair in shared},
            inputs if echo else None,
            float(seconds) if isinstance(seconds, (int, float)) and seconds >= 0 else None,
        )

    def _output_tail(self, lines: int = 8) -> str:
        try:
            text = self._log.read_text(errors="replace").strip()
        except OSError:
            return ""
        if not text:
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"\nlast output of the candidate:\n{tail}"


def _short(reply: dict) -> str:
    """A reply's header fields, for an error message (values and buffers left out)."""
    fields = {key: value for key, value in reply.items() if key not in ("values", "buffers")}
    text = repr(fields)
    return text if len(text) <= 200 else text[:197] + "..."


def _strings(value: object) -> bool:
    return isinstance(value, list) and len(value) <= 100 and all(type(v) is str for v in value)


def describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            return f"killed by signal {-code}"
        limit = LIMIT_SIGNALS.get(name)
        return f"killed by {name}" + (f": it reached {limit}" if limit else "")
    return f"exit code {code}"


__all__ = [
    "CandidateCrashed",
    "CandidateHung",
    "CandidateLoadError",
    "CandidateProcess",
    "CandidateProcessFailed",
    "CandidateUnreadable",
    "Limits",
    "RemoteRaised",
    "Returned",
]
