"""The fences put around a candidate's process before the candidate is imported.

Each function returns a line per fence it put up, for the report: a verdict
states what the candidate could not do.  Nothing here is a boundary against
native code except what the kernel enforces (resource limits, Landlock,
seccomp).  Functions that can fail on an older kernel also return, for each
fence that could not go up, a line saying why.
"""

from __future__ import annotations

import ctypes
import errno
import os
import resource
import stat
import sys
from dataclasses import dataclass

# Landlock (Linux >= 5.13): <linux/landlock.h>
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_VERSION_FLAG = 1
_RULE_PATH_BENEATH, _RULE_NET_PORT = 1, 2
_PR_SET_NO_NEW_PRIVS = 38
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_TRUNCATE = 1 << 14
_FILE_READS = _EXECUTE | _READ_FILE
_DIR_READS = _FILE_READS | _READ_DIR
_FILE_WRITES = _WRITE_FILE | _TRUNCATE
# remove_dir, remove_file, make_char, make_dir, make_reg, make_sock, make_fifo, make_block, make_sym
_TREE_WRITES = sum(1 << bit for bit in range(4, 13))
_REFER = 1 << 13
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1
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


# Read, as the runtimes need it (dynamic loader, CPU counts, random numbers); nothing here
# holds another process's or a user's data.  The runner's own /proc/<pid> is added to it.
RUNTIME_READS = (
    "/lib",
    "/lib32",
    "/lib64",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/local/lib",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/dev/null",
    "/dev/zero",
    "/dev/random",
    "/dev/urandom",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/sys/devices/system/cpu",
    "/sys/devices/system/node",
    "/sys/fs/cgroup",
)
SHM = "/dev/shm"


@dataclass(frozen=True)
class Reach:
    """What the candidate's process may open, as the verifier asked for it."""

    workdir: str
    readable: tuple[str, ...] = ()  # beneath each: read (and execute)
    listable: tuple[str, ...] = ()  # beneath each: list names only
    allow_read: tuple[str, ...] = ()  # the user's own additions to ``readable``
    writable: tuple[str, ...] = ()  # device nodes: read and write (--device)
    allow_shm: bool = False
    allow_network: bool = False


def restrict_files(reach: Reach) -> tuple[list[str], list[str]]:
    """Landlock: read only ``reach.readable`` and the runtime's files, write only in the
    working directory (and /dev/null, and the devices); from ABI 4 no TCP, from ABI 6
    signals and abstract sockets only to its own processes.

    Returns the fences put up and, for each fence the kernel could not put up, why.
    Landlock also keeps the process from ptrace-ing (or reading the memory of) any
    process outside, the verifier included.
    """
    abi = landlock_abi()
    if abi < 1:
        why = "the kernel has no Landlock (Linux 5.13+)"
        return [], [f"reads and writes are not fenced: {why}"]
    libc = ctypes.CDLL(None, use_errno=True)
    tree = _FILE_WRITES | _TREE_WRITES | (_REFER if abi >= 2 else 0)
    if abi < 3:
        tree &= ~_TRUNCATE
    handled = tree | _DIR_READS
    fence_tcp = abi >= 4 and not reach.allow_network
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if fence_tcp else 0
    scoped = _SCOPE_SIGNAL | _SCOPE_ABSTRACT_UNIX_SOCKET if abi >= 6 else 0
    attr = _RulesetAttr(handled, net, scoped)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8  # older kernels know fewer fields
    ruleset = libc.syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        return [], [f"reads and writes are not fenced: Landlock refused a ruleset ({_errno()})"]
    readable = (*RUNTIME_READS, *reach.readable, *reach.allow_read)
    rules = [(path, _DIR_READS) for path in readable]
    rules += [(path, _READ_DIR) for path in reach.listable]
    rules.append((f"/proc/{os.getpid()}", _DIR_READS))
    rules += [(reach.workdir, _DIR_READS | tree), ("/dev/null", _FILE_READS | _FILE_WRITES)]
    rules += [(path, _DIR_READS | _FILE_WRITES) for path in reach.writable]
    if reach.allow_shm:
        rules.append((SHM, _DIR_READS | tree))
    try:
        for path, rights in rules:
            _add_path_rule(libc, ruleset, path, rights & handled)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            return [], [f"reads and writes are not fenced: no_new_privs refused ({_errno()})"]
        if libc.syscall(_RESTRICT_SELF, ruleset, 0) != 0:
            return [], [f"reads and writes are not fenced: Landlock refused ({_errno()})"]
    finally:
        os.close(ruleset)
    extra = f", {', '.join(reach.allow_read)}" if reach.allow_read else ""
    fences = [
        "reads only the Python installation, its own module or program, its working "
        f"directory, the system's libraries{extra} (Landlock)",
        "writes only in its private working directory and /dev/null"
        + (", /dev/shm" if reach.allow_shm else "")
        + (f" and {len(reach.writable)} device paths" if reach.writable else "")
        + " (Landlock); no ptrace of other processes",
    ]
    missing = []
    if not reach.allow_shm:
        fences.append("no /dev/shm: nothing created there to outlive the run (Landlock)")
    if fence_tcp:
        fences.append("no TCP connections or listening ports (Landlock)")
    elif not reach.allow_network:
        missing.append("TCP is not fenced by Landlock: that needs Landlock ABI 4 (Linux 6.7+)")
    if scoped:
        fences.append(
            "signals only to its own processes; abstract UNIX sockets only among them (Landlock)"
        )
    else:
        missing.append(
            "signals to other processes are not fenced: that needs Landlock ABI 6 (Linux 6.12+)"
        )
    return fences, missing


def _add_path_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    """Allow ``rights`` beneath ``path``; a path that is not there is skipped."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_READS | _FILE_WRITES  # directory rights are refused on a file
        if not rights:
            return
        rule = _PathBeneathAttr(rights, fd)
        libc.syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(rule), 0)
    finally:
        os.close(fd)


def _errno() -> str:
    return os.strerror(ctypes.get_errno())


# seccomp (Linux >= 3.5): a classic BPF program over <linux/seccomp.h>'s seccomp_data.
_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 22, 2
_LD_W_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_SECCOMP_RET_KILL_PROCESS, _SECCOMP_RET_ALLOW = 0x80000000, 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000
_X32_SYSCALL_BIT = 0x40000000
# machine: (AUDIT_ARCH_*, socket, io_uring_setup)
_SYSCALLS = {
    "x86_64": (0xC000003E, 41, 425),
    "aarch64": (0xC00000B7, 198, 425),
}


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def refuse_sockets() -> tuple[list[str], list[str]]:
    """seccomp: ``socket()`` fails with EACCES, for every family; so does ``io_uring_setup``
    (its requests could open sockets where the filter cannot see them).

    ``socketpair()`` still works: the two ends join the candidate's own processes only.
    Nine instructions of classic BPF, written here: libseccomp's Python bindings are
    not on PyPI, and a program this small is read at a glance.  A system call of another
    architecture (i386's socketcall) kills the process; x32's are refused.
    """
    machine = os.uname().machine
    if not sys.platform.startswith("linux") or machine not in _SYSCALLS:
        return [], [f"sockets are not fenced: no seccomp filter for {sys.platform}/{machine}"]
    arch, socket_nr, io_uring_nr = _SYSCALLS[machine]
    refuse = _SECCOMP_RET_ERRNO | errno.EACCES
    program = [
        (_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ, 1, 0, arch),
        (_RET, 0, 0, _SECCOMP_RET_KILL_PROCESS),
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (_JGE, 3, 0, _X32_SYSCALL_BIT),
        (_JEQ, 2, 0, socket_nr),
        (_JEQ, 1, 0, io_uring_nr),
        (_RET, 0, 0, _SECCOMP_RET_ALLOW),
        (_RET, 0, 0, refuse),
    ]
    filters = (_SockFilter * len(program))(*(_SockFilter(*op) for op in program))
    fprog = _SockFprog(len(program), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return [], [f"sockets are not fenced: no_new_privs refused ({_errno()})"]
    if libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        return [], [f"sockets are not fenced: seccomp refused the filter ({_errno()})"]
    return ["no new sockets of any family, TCP, UDP and UNIX included (seccomp)"], []


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
