"""The process that runs a candidate: ``python -m cnnref.sandbox.child``.

Two processes, started by the verifier in a session of their own:

* the **keeper** (this module's ``main``) imports nothing but the standard
  library.  It becomes a child subreaper, forks the runner, and when the
  runner ends (or the verifier sends SIGTERM) it kills every process the
  runner left behind, double-forked daemons included, since orphans are
  re-parented to it.  It then ends the way the runner ended, so the
  verifier sees the runner's exit status (killed by SIGABRT, exit code 3).
* the **runner** reads frames from stdin and writes frames to stdout
  (``wire``): first ``load``, then one ``call`` per candidate call.  It
  imports NumPy, fences itself (``confine``), imports the candidate, and
  calls the candidate's functions.  Nothing of cnnref's judgement is here:
  no reference, no property, no verdict.  For a candidate in another
  language (``load["command"]``) the runner fences itself the same way and
  then becomes that program (exec), which answers the requests itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

FLUSH_SECONDS = 0.05
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36


def main() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash ends at once, without a core file
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    keeper = os.getpid()
    runner = 0

    # Set before the fork, so that no SIGTERM can find the keeper without its handler.
    def end_runner(*_: object) -> None:
        if runner:
            _kill_group(runner)

    def end_runner_if_orphaned(*_: object) -> None:
        if runner and os.getppid() != verifier:
            _kill_group(runner)

    signal.signal(signal.SIGTERM, end_runner)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the verifier's to handle
    # A verifier that dies takes everything with it.  The signal also comes when only the
    # verifier's thread that started us ends, so check that the verifier itself is gone.
    verifier = os.getppid()
    signal.signal(signal.SIGUSR1, end_runner_if_orphaned)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGUSR1)
    runner = os.fork()
    if runner == 0:
        os.setpgid(0, 0)
        for number in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(number, signal.SIG_DFL)
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)  # the runner never outlives its keeper
        if os.getppid() != keeper:
            os._exit(1)
        try:
            _run()
        finally:
            os._exit(0)
    os.close(0)  # the runner alone holds the pipes, so the verifier sees EOF when it dies
    os.close(1)
    status = _wait_for(runner)
    _kill_group(runner)
    _kill_descendants()
    if os.WIFSIGNALED(status):
        if os.WTERMSIG(status) != signal.SIGKILL:  # SIGKILL has no handler to reset
            signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    os._exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)


def _prctl(option: int, value: int) -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(option, value, 0, 0, 0)


def _wait_for(runner: int) -> int:
    """Reap children until the runner ends; its wait status."""
    while True:
        try:
            pid, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 0
        if pid == runner:
            return status


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pgid, signal.SIGKILL)


def _kill_descendants() -> None:
    """SIGKILL every child (orphans of the runner come to us) until none is left."""
    me = os.getpid()
    for _ in range(1000):
        children = _children_of(me)
        if not children:
            return
        for pid in children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass


def _children_of(parent: int) -> list[int]:
    """The children of ``parent``, read from /proc (without /proc the group kill must do)."""
    try:
        entries = [entry for entry in os.listdir("/proc") if entry.isdigit()]
    except OSError:
        return []
    children = []
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(entry))
    return children


# ---------------------------------------------------------------- the runner


def _run() -> None:
    from . import confine, wire
    from .target import CandidateLoadError, import_target

    channel = wire.Channel(os.dup(0), os.dup(1))
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    os.dup2(2, 1)  # the candidate's prints join stderr, the verifier's log file
    sys.dont_write_bytecode = True
    load = channel.receive(exact_layout=True)
    fields: dict[str, Any] = {key: _as_tuple(value) for key, value in load["reach"].items()}
    reach = confine.Reach(**fields)
    sys.path[:] = load["sys_path"]
    os.chdir(reach.workdir)
    fences = confine.limit_resources(load["memory"], load["cpu_seconds"])
    fenced, missing = confine.restrict_files(reach)
    fences += fenced
    if not reach.allow_network:
        fenced, not_up = confine.refuse_sockets()
        fences, missing = fences + fenced, missing + not_up
    if not load.get("command"):
        fences += confine.forbid_imports(tuple(load["forbid"]))
    # Stated before any of the candidate's code runs, which cannot take it back.
    channel.send(
        wire.pack({"op": "fenced", "fences": fences, "missing": missing, "pid": os.getpid()})
    )
    if load.get("command"):
        _exec_command(channel, load["command"])
        return
    try:
        candidate = import_target(load["target"])
    except CandidateLoadError as error:
        channel.send(wire.pack({"op": "load-error", "message": str(error)}))
        return
    functions = {
        name: getattr(candidate, name)
        for name in load["functions"]
        if callable(getattr(candidate, name, None))
    }
    problem = signatures_problem(candidate, functions, load.get("calls") or {})
    if problem:
        channel.send(wire.pack({"op": "load-error", "message": f"{load['target']!r}: {problem}"}))
        return
    channel.send(
        wire.pack(
            {
                "op": "ready",
                "functions": sorted(functions),
                # As declared: the verifier validates them (cnnref.declarations).
                "unsupported": _plain(getattr(candidate, "CNNREF_UNSUPPORTED", ())),
                "conventions": _plain(getattr(candidate, "CNNREF_CONVENTIONS", None)),
            }
        )
    )
    while True:
        request = channel.receive(exact_layout=True)
        if request.get("op") != "calls":
            return
        values = request["values"]
        # Replies of a batch go out together, or every FLUSH_SECONDS while calls are slow: the
        # verifier's per-call time limit counts from the last reply it got.
        replies: list = []
        flushed = time.monotonic()
        for offset, (args, kwargs) in enumerate(zip(values["args"], values["kwargs"])):
            reply = _call(functions, request["function"], args, kwargs, request["echo"])
            outputs = reply.pop("values")
            replies += wire.pack(reply | {"id": request["id"] + offset}, **outputs)
            if reply["op"] == "raised":
                break  # the verifier reads no further replies of this batch
            if time.monotonic() - flushed > FLUSH_SECONDS:
                channel.send(replies)
                replies, flushed = [], time.monotonic()
        channel.send(replies)


def signatures_problem(candidate: object, functions: dict, calls: dict) -> str | None:
    """Why the candidate's functions cannot take cnnref's calls (None when they can).  Not
    asked of a candidate that declares features unsupported: those change what it is passed."""
    from .signatures import signature_problem

    if getattr(candidate, "CNNREF_UNSUPPORTED", None):
        return None
    problems = [signature_problem(name, f, calls.get(name)) for name, f in functions.items()]
    return "; ".join(problem for problem in problems if problem) or None


def _exec_command(channel, argv: list[str]) -> None:
    """Become the candidate's own program, fenced: its stdin and stdout are the pipes.

    The fences (rlimits, Landlock, seccomp, the working directory, the process group)
    outlast exec; the program answers ``ready`` itself (docs/protocol.md).
    """
    from . import wire

    os.dup2(channel.read_fd, 0)
    os.dup2(channel.write_fd, 1)
    os.close(channel.read_fd)
    os.close(channel.write_fd)
    try:
        os.execv(argv[0], argv)
    except OSError as error:
        message = f"cannot run {argv[0]}: {error.strerror or error}"
        wire.Channel(0, 1).send(wire.pack({"op": "load-error", "message": message}))


def _call(functions: dict, function: str, args: tuple, kwargs: dict, echo: bool) -> dict:
    """One call of the candidate, as a reply: what it returned, or what it raised."""
    import traceback

    from . import wire

    began = time.perf_counter()
    try:
        result = functions[function](*args, **kwargs)
    except BaseException as error:  # SystemExit and KeyboardInterrupt are the candidate's too
        return {
            "op": "raised",
            "error_type": type(error).__name__,
            "message": _text(error)[:2000],
            "traceback": traceback.format_exc(limit=-4)[-4000:],
            "values": {},
        }
    seconds = time.perf_counter() - began  # the candidate's own time, apart from the transfer
    values = {"value": result, "inputs": list(args) if echo else None}
    return {
        "op": "returned",
        "shared": wire.shared_memory(result, args),
        "values": values,
        "seconds": seconds,
    }


def _as_tuple(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _plain(value: object, depth: int = 0) -> object:
    """A declaration as JSON: str and None as they are, dicts with str keys, sets and
    lists as sorted lists; anything else (or deeper than a declaration goes) as its repr,
    a string, which the verifier refuses with that repr in its message."""
    try:
        if value is None or isinstance(value, str):
            return value
        if depth < 3 and isinstance(value, dict):
            return {str(key): _plain(item, depth + 1) for key, item in list(value.items())[:100]}
        if depth < 3 and isinstance(value, (set, frozenset, list, tuple)):
            return sorted((_plain(item, depth + 1) for item in list(value)[:100]), key=repr)
        return repr(value)[:300]
    except Exception:  # a declaration whose items cannot even be listed
        return "<unreadable>"


def _text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # a candidate's exception whose __str__ raises
        return f"<{type(error).__name__} whose message cannot be printed>"


if __name__ == "__main__":
    main()
