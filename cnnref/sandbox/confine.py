"""The fences put around a candidate's process before the candidate is imported.

Each function returns a line per fence it put up, for the report: a verdict
states what the candidate could not do.  Nothing here is a boundary against
native code except what the kernel enforces (resource limits, Landlock).
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys

# Landlock (Linux >= 5.13): <linux/landlock.h>
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_VERSION_FLAG = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_WRITE_FILE, _TRUNCATE = 1 << 1, 1 << 14
_FILE_WRITES = _WRITE_FILE | _TRUNCATE
# remove_dir, remove_file, make_char, make_dir, make_reg, make_sock, make_fifo, make_block, make_sym
_TREE_WRITES = sum(1 << bit for bit in range(4, 13))
_REFER = 1 << 13
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


FILE_SIZE_LIMIT = 1 << 30


def limit_resources(memory_bytes: int | None, cpu_seconds: int | None) -> list[str]:
    """Address space, CPU time and file size (hard limits: the candidate cannot raise them);
    no core files."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
    fences = [f"files (its output log included) of at most {FILE_SIZE_LIMIT >> 30} GiB"]
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        fences.append(f"address space at most {memory_bytes / 2**30:g} GiB")
    if cpu_seconds:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        fences.append(f"at most {cpu_seconds} s of CPU time per candidate process")
    return fences


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 where there is none."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return max(0, libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), _VERSION_FLAG))
    except (OSError, AttributeError):
        return 0


def restrict_writes_and_signals(workdir: str) -> list[str]:
    """Landlock: create, change or remove files only under ``workdir`` (and /dev/null,
    /dev/shm); from ABI 6, signal and reach by abstract socket only processes inside.

    Reading is not restricted (a candidate imports from anywhere).  Landlock
    also keeps the process from ptrace-ing (or reading the memory of) any
    process outside, the verifier included.
    """
    abi = landlock_abi()
    if abi < 1:
        return []
    libc = ctypes.CDLL(None, use_errno=True)
    tree = _FILE_WRITES | _TREE_WRITES | (_REFER if abi >= 2 else 0)
    if abi < 3:
        tree &= ~_TRUNCATE
    scoped = _SCOPE_SIGNAL | _SCOPE_ABSTRACT_UNIX_SOCKET if abi >= 6 else 0
    attr = _RulesetAttr(tree, 0, scoped)
    size = ctypes.sizeof(attr) if abi >= 6 else 8  # older kernels know only the first field
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        return []
    try:
        for path, rights in (
            (workdir, tree),
            ("/dev/shm", tree),
            ("/dev/null", _FILE_WRITES & tree),
        ):
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            rule = _PathBeneathAttr(rights, fd)
            libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
            os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return []
        if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
            return []
    finally:
        os.close(ruleset)
    fences = [
        "writes only in its private working directory, /dev/shm and /dev/null (Landlock); "
        "no ptrace of other processes"
    ]
    if scoped:
        fences.append("signals only to its own processes (Landlock)")
    return fences


def forbid_imports(modules: tuple[str, ...]) -> list[str]:
    """An audit hook that makes importing any of ``modules`` (or their submodules) fail.

    A fence against shortcuts (``import torch`` to compute the answer), not a
    boundary: native code, or Python that reads another package's files,
    is not stopped by it.
    """
    if not modules:
        return []
    forbidden = tuple(modules)

    def hook(event: str, args: tuple) -> None:
        if event == "import":
            name = str(args[0])
            for module in forbidden:
                if name == module or name.startswith(module + "."):
                    raise ImportError(
                        f"importing {name!r} is forbidden in this verification (--forbid {module})"
                    )

    for name in list(sys.modules):
        if any(name == m or name.startswith(m + ".") for m in forbidden):
            del sys.modules[
                name
            ]  # loaded by cnnref's own child code: the candidate must import it afresh
    sys.addaudithook(hook)
    return [
        f"imports of {', '.join(forbidden)} are refused (an audit hook; not a native-code boundary)"
    ]
