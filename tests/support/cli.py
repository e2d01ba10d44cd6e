"""``cnnref`` on the command line: in the test's own process, or in a fresh one."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from cnnref.cli import main

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


def cnnref(*args: str, cwd: Path = ROOT) -> Run:
    """``cnnref ARGS`` in this process: its exit code and what it printed.  The working
    directory, environment and import path it may change are restored after it."""
    out, err = StringIO(), StringIO()
    here, environment, path = os.getcwd(), dict(os.environ), list(sys.path)
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit:  # argparse's usage errors and --version
                code = exit.code if isinstance(exit.code, int) else 1
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(environment)
        sys.path[:] = path
    return Run(code, out.getvalue(), err.getvalue())


def fresh(*args: str) -> subprocess.CompletedProcess:
    """``python -m cnnref ARGS`` in a new process, from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "cnnref", *args],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
    )
