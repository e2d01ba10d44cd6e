"""Reads /proc entries of other processes: the verifier's command line and environment."""

import os

from ._common import TARGETS, attempt, conv2d, read  # noqa: F401

pid = TARGETS["verifier_pid"]
attempt("other process's environ", lambda: read(f"/proc/{pid}/environ"))
attempt("other process's cmdline", lambda: read(f"/proc/{pid}/cmdline"))
attempt("process list", lambda: [e for e in os.listdir("/proc") if e.isdigit()][:3])
