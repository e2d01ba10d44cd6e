"""Write files so that a crash mid-write never leaves a half-written file behind.

The data goes to a temporary file in the same directory, is flushed to disk,
and then replaces the target in one ``os.replace`` (atomic on POSIX and Windows).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed."""
    target = Path(path)
    if target.parent and not target.parent.exists():
        raise FileNotFoundError(f"cannot write {target}: directory {target.parent} does not exist")
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
    )
    os.close(handle)
    try:
        yield Path(temporary)
        with open(temporary, "rb+") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, _default_mode(target))  # mkstemp makes files private (0600)
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)


def _default_mode(target: Path) -> int:
    """The target's current permissions, or what a plain open() would give a new file."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | os.PathLike, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) to ``path`` atomically."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
