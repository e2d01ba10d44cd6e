"""Slow fixtures made once per test run, whichever xdist workers ask for them.

pytest-xdist's own way to keep such tests together, ``--dist loadgroup``, stopped grouping
with pytest 9.2 (pytest-xdist#1386: nothing fails, the tests are spread as if unmarked), so
the suite does not rely on it: the first worker to ask makes the thing in the run's shared
temporary root while holding a lock, and the others wait for it and reuse it.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable
from pathlib import Path

import pytest


def once_per_run(request: pytest.FixtureRequest, name: str, make: Callable[[Path], object]) -> Path:
    """The directory ``name``, filled by ``make(directory)`` once per run (not per worker).

    A failure is made once too: the workers after the first fail with its message rather than
    try again."""
    factory: pytest.TempPathFactory = request.getfixturevalue("tmp_path_factory")
    base = factory.getbasetemp()
    root = base.parent if hasattr(request.config, "workerinput") else base
    directory, done, failed = root / name, root / f"{name}.done", root / f"{name}.failed"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if failed.exists():
            pytest.fail(failed.read_text(), pytrace=False)
        if not done.exists():
            directory.mkdir()
            try:
                make(directory)
            except BaseException as error:
                failed.write_text(f"another worker's {name} failed: {error}")
                raise
            done.touch()
    return directory


def json_once_per_run(request: pytest.FixtureRequest, name: str, make: Callable[[], dict]) -> dict:
    """``make()``'s JSON document, made once per run and read back by every worker that asks."""

    def write(directory: Path) -> None:
        (directory / "document.json").write_text(json.dumps(make()))

    return json.loads((once_per_run(request, name, write) / "document.json").read_text())
