"""Read MNIST's IDX files (gzip or raw) and refuse anything that is not exactly one.

An IDX file is a big-endian header and a payload::

    magic (4 bytes) = 0x00 0x00 <element type> <number of dimensions>
    size of each dimension (4 bytes each)
    the elements, row-major

MNIST uses unsigned bytes (type 0x08): images are 3-D (magic 2051 = 0x0803),
labels 1-D (magic 2049 = 0x0801).  Every way a file can be wrong raises
``DataFileError`` with the file's name and the rule it broke.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import zlib
from pathlib import Path

import numpy as np

from ..atomic import write_atomic
from .errors import DataFileError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_GZIP_SIGNATURE = b"\x1f\x8b"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's content, gunzipped when it starts with the gzip signature."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataFileError(f"{path}: cannot read: {error.strerror or error}") from error
    if not raw.startswith(_GZIP_SIGNATURE):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as error:
        raise DataFileError(f"{path}: broken or truncated gzip data ({error})") from error


def parse_idx(content: bytes, expected_magic: int, source: str | os.PathLike) -> np.ndarray:
    """The uint8 array an IDX file holds, checked against ``expected_magic`` and its sizes."""
    if len(content) < 4:
        raise DataFileError(f"{source}: {len(content)} bytes is too short for an IDX header")
    magic = int.from_bytes(content[:4], "big")
    if magic != expected_magic:
        raise DataFileError(
            f"{source}: magic number {magic} (0x{magic:08x}), expected {expected_magic} "
            f"(0x{expected_magic:08x}, {_describe(expected_magic)})"
        )
    ndim = magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise DataFileError(
            f"{source}: truncated header: {ndim} dimension sizes need {header_size} bytes, "
            f"the file has {len(content)}"
        )
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = math.prod(shape)
    actual = len(content) - header_size
    if actual != expected:
        problem = "truncated" if actual < expected else "has trailing bytes"
        raise DataFileError(
            f"{source}: {problem}: the header promises {shape} = {expected} bytes of data, "
            f"the file holds {actual}"
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)


def read_idx(path: str | os.PathLike, expected_magic: int) -> np.ndarray:
    return parse_idx(read_bytes(path), expected_magic, path)


def read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, rows, cols) and labels (N,), which must count the same N."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataFileError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; they must count the same"
        )
    return images, labels


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array of 1 to 3 dimensions (the inverse of ``parse_idx``)."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8 or not 1 <= array.ndim <= 3:
        raise ValueError(
            f"IDX here holds uint8 arrays of 1 to 3 dimensions; got {array.dtype} {array.shape}"
        )
    magic = (0x08 << 8) | array.ndim
    header = b"".join(n.to_bytes(4, "big") for n in (magic, *array.shape))
    return header + array.tobytes()


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Write ``array`` as an IDX file, gzipped when ``path`` ends in ``.gz``."""
    content = idx_bytes(array)
    if str(path).endswith(".gz"):
        content = gzip.compress(content, mtime=0)
    write_atomic(path, content)


def sha256_of(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_sha256(path: Path, expected: str) -> None:
    """Raise ``DataFileError`` unless the file's SHA-256 is ``expected``."""
    try:
        actual = sha256_of(path)
    except OSError as error:
        raise DataFileError(f"{path}: cannot read: {error.strerror or error}") from error
    if actual != expected.lower():
        raise DataFileError(f"{path}: checksum mismatch: SHA-256 is {actual}, expected {expected}")


def _describe(magic: int) -> str:
    return {IMAGES_MAGIC: "an IDX image file", LABELS_MAGIC: "an IDX label file"}.get(magic, "IDX")
