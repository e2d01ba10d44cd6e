"""Candidates that try to forge their verdict instead of computing the right answer.

Each module is a ``--impl`` target whose ``conv2d`` is wrong (a true
convolution, the kernel rotated) and which also attacks the verifier: its
process, its pipe, its memory, its report.  ``tests/sandbox/test_integrity.py`` runs
each through ``cnnref verify`` and requires exit 1, an honest report, no code
run in the verifier, and no process left behind.  The attacks read the test's
marker paths from environment variables, so that a successful attack leaves
evidence instead of doing harm.
"""

from __future__ import annotations

import os

from ..student import build

WRONG = build("flip_kernel")


def marker(name: str) -> str:
    """A path the test watches: a file there means the attack got through."""
    return os.path.join(os.environ.get("CNNREF_FORGER_DIR", "/nonexistent"), name)


def writable_pipes() -> list[int]:
    """Every pipe this process holds open for writing (the reply pipe among them)."""
    import stat

    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if stat.S_ISFIFO(os.fstat(fd).st_mode):
                with open(f"/proc/self/fdinfo/{fd}") as info:
                    flags = int(info.read().split("flags:")[1].split()[0], 8)
                if flags & 0o3 in (os.O_WRONLY, os.O_RDWR):
                    found.append(fd)
        except (OSError, ValueError, IndexError):
            continue
    return found


def ancestors(levels: int = 4) -> list[int]:
    """The parent, grandparent, ... of this process (the verifier is among them), as far as
    /proc lets it see (the read fence hides other processes' entries)."""
    pids, pid = [os.getppid()], os.getppid()
    for _ in range(levels - 1):
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rpartition(")")[2].split()[1])
        except OSError:
            break
        if pid <= 1:
            break
        pids.append(pid)
    return pids
