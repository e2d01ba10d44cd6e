"""Run a candidate in a child process, so that a crash or a hang is a verdict, not the end of the run.

The child (``cnnref.verify.child``, a fresh interpreter) imports the
candidate and evaluates one property on one example per request.  It
reports each candidate call as it starts and returns; the parent waits at most ``timeout`` seconds for a call to return, and kills and
replaces the child when it hangs or dies.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from multiprocessing.connection import Connection
from pathlib import Path

from .candidate import CandidateLoadError
from .evaluate import CRASHED, HUNG, INTERNAL, Outcome

# How long cnnref's own checking (reference, oracles) may take between two candidate calls.
ORACLE_LIMIT = 600.0
# How long starting the child and importing the candidate may take.
IMPORT_LIMIT = 120.0


class Sandbox:
    """The parent's handle on the child process that runs one candidate."""

    def __init__(self, target: str, *, timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        self._process: subprocess.Popen | None = None
        self._requests: Connection | None = None
        self._replies: Connection | None = None
        self._output = Path(tempfile.mkstemp(prefix="cnnref-candidate-", suffix=".log")[1])
        self.functions: list[str] = []
        self.unsupported: frozenset[str] = frozenset()

    def start(self) -> Sandbox:
        """Start the child and load the candidate; CandidateLoadError if it cannot be loaded."""
        if self._process is not None:
            return self
        package_root = str(Path(__file__).resolve().parents[2])
        environment = os.environ | {
            "PYTHONPATH": os.pathsep.join(
                filter(None, [package_root, os.environ.get("PYTHONPATH")])
            )
        }
        with open(self._output, "a") as log:  # appending, so truncating it between examples is safe
            self._process = subprocess.Popen(
                [sys.executable, "-m", "cnnref.verify.child"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=environment,
            )
        self._requests = Connection(os.dup(self._process.stdin.fileno()), readable=False)
        self._replies = Connection(os.dup(self._process.stdout.fileno()), writable=False)
        self._process.stdin.close()
        self._process.stdout.close()
        self._requests.send(("init", self.target, list(sys.path)))
        message = self._receive(IMPORT_LIMIT)
        if message[0] in ("timeout", "died"):
            exit_code = self._kill(grace=5.0 if message[0] == "died" else 0.0)
            raise CandidateLoadError(
                f"loading {self.target!r} failed ({describe_exit(exit_code)})" + self._output_tail()
            )
        if message[0] == "load-error":
            self._kill()
            raise CandidateLoadError(message[1])
        _, functions, unsupported = message
        self.functions, self.unsupported = functions, frozenset(unsupported)
        return self

    def _receive(self, limit: float):
        """The child's next message; ("timeout",) after ``limit`` seconds, ("died",) on its end."""
        try:
            if not self._replies.poll(limit):
                return ("timeout",)
            return self._replies.recv()
        except (EOFError, OSError):
            return ("died",)

    def evaluate(self, property_name: str, case: object) -> Outcome:
        self.start()
        os.truncate(self._output, 0)  # keep only this example's output
        self._requests.send((property_name, case))
        calling = None
        while True:
            limit = self.timeout if calling else ORACLE_LIMIT
            message = self._receive(limit)
            if message[0] == "timeout":
                self._kill()
                if calling:
                    return Outcome(
                        HUNG,
                        f"{calling} did not return within {self.timeout:g} s "
                        "(the per-call time limit, --timeout)",
                    )
                return Outcome(INTERNAL, f"cnnref's own checks took more than {ORACLE_LIMIT:g} s")
            if message[0] == "died":
                exit_code = self._kill(grace=5.0)
                doing = f"while calling {calling}" if calling else "between candidate calls"
                return Outcome(
                    CRASHED,
                    f"the process running the candidate died ({describe_exit(exit_code)}) {doing}"
                    + self._output_tail(),
                )
            if message[0] == "calling":
                calling = message[1]
            elif message[0] == "returned":
                calling = None
            else:
                return message[1]

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None:
            with contextlib.suppress(OSError):
                self._requests.send(None)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
        self._kill()
        self._output.unlink(missing_ok=True)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _kill(self, grace: float = 0.0) -> int | None:
        """Stop the child (it is restarted on the next request); return its exit code.

        ``grace``: seconds a child that is already dying gets to finish, so that its
        exit status (the signal that killed it) can be reported.
        """
        process, self._process = self._process, None
        if process is None:
            return None
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
        exit_code = process.wait()
        for connection in (self._requests, self._replies):
            connection.close()
        return exit_code

    def _output_tail(self, lines: int = 8) -> str:
        try:
            text = self._output.read_text(errors="replace").strip()
        except OSError:
            return ""
        if not text:
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"\nlast output of the candidate:\n{tail}"


def describe_exit(code: int | None) -> str:
    if code is None:
        return "no exit code"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
