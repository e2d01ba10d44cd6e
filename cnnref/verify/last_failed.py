"""Which properties failed in a candidate's last run (``--ff``, ``--lf``).

Kept beside the candidate's example database, ``.hypothesis/cnnref/<candidate>/``,
whose saved failing examples Hypothesis replays first: a property that failed
is back to its failing example (or shows it fixed) within its first examples.
A run records what it found for the properties it ran and keeps the rest.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from pathlib import Path

from ..atomic import write_atomic
from ..checks import Property
from ..results import PropertyResult, Status
from .runner import slug

FILE_NAME = "last-failed.json"


def record_path(database: Path, target: str) -> Path:
    return database / slug(target) / FILE_NAME


def failed_last_time(database: Path | None, target: str) -> list[str]:
    """The properties that failed when ``target`` last ran them (none if never, or unreadable,
    or with no example database)."""
    if database is None:
        return []
    try:
        names = json.loads(record_path(database, target).read_text())["failed"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [name for name in names if isinstance(name, str)]


def record(database: Path | None, target: str, results: Sequence[PropertyResult]) -> None:
    """Remember which of ``results`` failed, keeping what is known of properties not run."""
    if database is None:
        return
    ran = {result.name for result in results}
    failed = [name for name in failed_last_time(database, target) if name not in ran]
    failed += [r.name for r in results if r.status in (Status.FAILED, Status.ERROR)]
    path = record_path(database, target)
    with contextlib.suppress(OSError):  # a read-only directory: the run itself still counts
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps({"failed": failed}, indent=1) + "\n")


def reorder(selected: Sequence[Property], failed: Sequence[str], *, only: bool) -> list[Property]:
    """``selected`` with the ones that failed last time first (``only``: those alone, or every
    one when none failed, as pytest's ``--lf`` does)."""
    first = [prop for prop in selected if prop.name in failed]
    if only:
        return first or list(selected)
    return first + [prop for prop in selected if prop.name not in failed]
