"""The verifier's side of the boundary: start the candidate's process, call it, end it.

Every call is a request frame with the inputs and a reply frame with what
came back (``wire``), read with the per-call time limit and a byte limit.
A hang, a death, or a reply cnnref cannot read ends the process (and every
process it started) and raises; the next call starts a fresh one.
"""

from __future__ import annotations

import contextlib
import dataclasses
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
from typing import cast

from ..results import Kind
from . import reach, wire
from .confine import Reach
from .signatures import expected_calls
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
    allow_read: tuple[str, ...] = ()  # more paths it may read (beneath each)
    pass_env: tuple[str, ...] = ()  # more variables of this environment it gets
    allow_network: bool = False  # sockets, TCP included
    allow_shm: bool = False  # /dev/shm
    device: str = "cpu"  # cuda, rocm: the GPU's device nodes may be opened

    def __post_init__(self) -> None:
        if self.device not in reach.DEVICES:
            raise ValueError(
                f"device must be one of {', '.join(reach.DEVICES)}; got {self.device!r}"
            )
        for path in self.allow_read:
            if not os.path.exists(path):
                raise ValueError(f"allow_read: {path} does not exist")
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
            "allow_read": list(self.allow_read),
            "pass_env": list(self.pass_env),
            "allow_network": self.allow_network,
            "allow_shm": self.allow_shm,
            "device": self.device,
            "fences": list(fences),
        }


class CandidateProcessFailed(Exception):
    """The candidate's process hung, died, or sent what cnnref cannot read."""

    kind: Kind
    function: str | None = None  # the function called when it happened, once the caller knows


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
        self.fences_not_up: list[str] = []  # fences asked for that the kernel could not put up
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
        python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        environment = QUIET_WHEN_IDLE | reach.environment(
            self._workdir, self.limits.pass_env, self.limits.device, python_path
        )
        # Absolute: the candidate's process works in its own directory, where "" and
        # relative entries would point elsewhere than they do here.
        search_path = [os.path.abspath(entry) for entry in sys.path]
        fenced = self._reach(search_path)
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
        assert self._process.stdin is not None and self._process.stdout is not None  # PIPE
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
            "sys_path": search_path,
            "reach": dataclasses.asdict(fenced),
            "memory": self.limits.memory,
            "cpu_seconds": self.limits.cpu_seconds,
            "forbid": list(self.limits.forbid),
            "command": argv,
            "calls": {} if argv else expected_calls(self.wanted),  # for a load-time check
        }
        deadline = time.monotonic() + IMPORT_LIMIT
        fences = None
        try:
            self._channel.send(wire.pack(load), deadline)
            if meanwhile is not None:
                meanwhile()
            reply = self._channel.receive(deadline, byte_limit=0)
            if reply.get("op") == "fenced":
                # The runner's account of its fences, sent before any of the candidate's code
                # runs: what the candidate sends afterwards cannot change it.
                fences = self._confirmed(reply)
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
        lists = [reply.get("functions"), fences]
        if reply.get("op") != "ready" or not all(_strings(value) for value in lists):
            self.stop()
            raise CandidateLoadError(
                f"loading {self.target!r} failed: an unexpected reply (expected op 'ready' with "
                f"lists of strings; got {_short(reply)})"
            )
        functions, fences = cast("list[list[str]]", lists)  # _strings checked each
        # Plain JSON as the candidate declared them; the verifier validates them.
        self.unsupported, self.conventions = reply.get("unsupported"), reply.get("conventions")
        self.functions = [name for name in functions if name in self.wanted]
        self.fences = [
            "its own session and process group; every process it starts is ended with it",
            "a private working directory, removed afterwards",
            "a clean environment: HOME and TMPDIR are its working directory; of this one only "
            "PATH, locale, thread and import variables"
            + (f", and {', '.join(self.limits.pass_env)}" if self.limits.pass_env else ""),
            *fences,
        ]
        return self

    def _reach(self, search_path: list[str]) -> Reach:
        """What the candidate's process may open: asked for here, put up by the runner."""
        own, listable = reach.candidate_paths(self.target, self.command, search_path)
        nodes, driver = reach.device_paths(self.limits.device)
        assert self._workdir is not None  # made by start(), before the runner is asked
        return Reach(
            workdir=self._workdir,
            readable=(*reach.python_installation(), *own, *driver),
            listable=tuple(listable),
            allow_read=tuple(os.path.abspath(path) for path in self.limits.allow_read),
            writable=tuple(nodes),
            allow_shm=self.limits.allow_shm,
            allow_network=self.limits.allow_network,
        )

    def _confirmed(self, fenced: dict) -> list[str] | None:
        """The fences of a ``fenced`` frame that this side can confirm; the rest are not up.

        The frame comes before the candidate's code runs; the kernel's own account of the
        runner (/proc: no_new_privs, a seccomp filter) must agree with it.
        """
        fences, missing, pid = fenced.get("fences"), fenced.get("missing"), fenced.get("pid")
        if not (_strings(fences) and _strings(missing) and type(pid) is int):
            return None
        assert isinstance(fences, list) and isinstance(missing, list)
        assert self._process is not None  # a frame came from it
        status = _proc_status(pid, parent=self._process.pid)
        confirmed = []
        for fence in fences:
            implied = _kernel_fields(fence)
            if not implied or (status and all(status.get(k) == v for k, v in implied.items())):
                confirmed.append(fence)
            else:
                missing.append(f"not confirmed by the kernel, so not listed: {fence}")
        self.fences_not_up = list(missing)
        return confirmed

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
                if pipe is not None:
                    pipe.close()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        return exit_code

    def close(self) -> None:
        channel = self._channel
        if self._process is not None and self._process.poll() is None and not self._in_call:
            with contextlib.suppress(wire.TimedOut, OSError):
                assert channel is not None  # made with the process
                channel.send(wire.pack({"op": "exit"}), time.monotonic() + 1.0)
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
        channel = self._channel
        assert channel is not None  # start() made it
        self._in_call = True
        returned = []
        try:
            channel.send(frame, time.monotonic() + self.limits.timeout)
            for offset, (args, _) in enumerate(calls):
                reply = channel.receive(
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
            texts = [text for text in fields if isinstance(text, str)]
            if len(texts) != len(fields):
                raise unreadable("an exception report without its type, message and traceback")
            raise RemoteRaised(function, *texts)
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


def _kernel_fields(fence: str) -> dict[str, str]:
    """The fields of the runner's /proc status that a fence implies (mode 2: a filter)."""
    if "(seccomp)" in fence:
        return {"Seccomp": "2", "NoNewPrivs": "1"}
    if "(Landlock)" in fence:
        return {"NoNewPrivs": "1"}
    return {}


def _proc_status(pid: int, parent: int) -> dict[str, str] | None:
    """/proc/<pid>/status as a dict, if ``pid`` is a child of ``parent`` (the keeper)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    status = dict(
        (key, value.strip())
        for key, _, value in (line.partition(":") for line in text.splitlines())
    )
    return status if status.get("PPid") == str(parent) else None


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
