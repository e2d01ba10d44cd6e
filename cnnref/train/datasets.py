"""Where the digits come from: ``--data DIR``, else the cache directory, else the mirrors.

A directory holds IDX pairs named as MNIST's own files, gzipped or not
(``train-images-idx3-ubyte[.gz]``, ``t10k-labels-idx1-ubyte[.gz]``, ...).
With a ``train`` pair the run trains on it and tests on ``t10k``; with only
the ``t10k`` pair it holds out the last fifth of it (10,000 digits: train on
the first 8,000, test on the last 2,000).  A ``SHA256SUMS`` file beside them
is checked.  Fashion-MNIST uses the same names and format.

Without ``--data``, the four MNIST files are looked for in the cache
directory and otherwise downloaded: each from the first mirror that serves
it with the right SHA-256, written atomically so that a failed download
leaves nothing behind.  When every mirror fails (offline, say), the one-line
error names the mirrors' reasons and the two ways round the network:
``--data DIR``, or the files put in the cache directory by hand.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from .errors import DataFileError
from .idx import check_sha256, read_pair, write_idx

IMAGE_SIZE = (28, 28)
CLASSES = 10
HELD_OUT_FRACTION = 0.2

# SHA-256 of the canonical gzipped files, as every mirror below serves them.
MNIST_FILES: dict[str, str] = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MIRRORS_ENV = "CNNREF_MNIST_MIRRORS"  # whitespace-separated base URLs, tried in order
CACHE_ENV = "CNNREF_MNIST_CACHE"  # the directory the downloaded files live in
DOWNLOAD_TIMEOUT = 60.0

Log = Callable[[str], None]


@dataclass(frozen=True)
class Digits:
    """Images (N, 28, 28) uint8 and their labels (N,) in 0..9."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def part(self, rows: slice) -> Digits:
        return Digits(self.images[rows], self.labels[rows])


@dataclass(frozen=True)
class Splits:
    """The digits a run trains on, the digits it is tested on, and where each came from."""

    train: Digits
    test: Digits
    description: str


def load_splits(directory: str | os.PathLike) -> Splits:
    """The train and test digits in ``directory`` (see the module docstring for the rules)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataFileError(f"{directory}: no such directory")
    checksums = read_checksums(directory)
    test = read_digits(directory, "t10k", checksums)
    if find_pair(directory, "train") is not None:
        train = read_digits(directory, "train", checksums)
        return Splits(
            train,
            test,
            f"training on {len(train):,} train-* images, testing on {len(test):,} t10k-*",
        )
    train, held_out = hold_out(test)
    return Splits(
        train,
        held_out,
        f"{directory} has only the t10k pair: training on its first {len(train):,} images, "
        f"testing on the last {len(held_out):,}",
    )


def hold_out(digits: Digits) -> tuple[Digits, Digits]:
    """The first (1 - HELD_OUT_FRACTION) of the digits, and the rest."""
    boundary = len(digits) - round(len(digits) * HELD_OUT_FRACTION)
    return digits.part(slice(0, boundary)), digits.part(slice(boundary, None))


def find_pair(directory: Path, prefix: str) -> tuple[Path, Path] | None:
    """``(images, labels)`` paths for ``prefix`` ("train" or "t10k"), gzipped or raw; None if
    neither file exists; a DataFileError if only one of them does."""
    stems = {"images": f"{prefix}-images-idx3-ubyte", "labels": f"{prefix}-labels-idx1-ubyte"}
    found = {kind: _first_existing(directory, stem) for kind, stem in stems.items()}
    if not any(found.values()):
        return None
    for kind, path in found.items():
        if path is None:
            present = next(p for p in found.values() if p is not None)
            raise DataFileError(f"{present} has no matching {stems[kind]}[.gz] in {directory}")
    images, labels = found["images"], found["labels"]
    assert images is not None and labels is not None  # the loop above raised for a missing one
    return images, labels


def read_digits(directory: Path, prefix: str, checksums: Mapping[str, str]) -> Digits:
    """The ``prefix`` pair in ``directory``, checksummed when listed, checked to be digits."""
    pair = find_pair(directory, prefix)
    if pair is None:
        raise DataFileError(
            f"{directory}: no {prefix} pair ({prefix}-images-idx3-ubyte[.gz] and "
            f"{prefix}-labels-idx1-ubyte[.gz])"
        )
    for path in pair:
        if path.name in checksums:
            check_sha256(path, checksums[path.name])
    images_path, labels_path = pair
    images, labels = read_pair(images_path, labels_path)
    if images.shape[1:] != IMAGE_SIZE:
        raise DataFileError(
            f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28"
        )
    if len(labels) and labels.max() >= CLASSES:
        index = int(np.argmax(labels >= CLASSES))
        raise DataFileError(
            f"{labels_path}: label {labels[index]} at index {index} is not a class 0-{CLASSES - 1}"
        )
    return Digits(images, labels)


def write_digits(directory: Path, prefix: str, digits: Digits, *, compress: bool = True) -> None:
    """Write ``digits`` as the IDX pair ``prefix``-images/labels in ``directory`` (to make a
    subset, or a test set of your own)."""
    suffix = ".gz" if compress else ""
    write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", digits.images)
    write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", digits.labels)


def read_checksums(directory: Path) -> dict[str, str]:
    """``{file name: sha256}`` from ``directory/SHA256SUMS`` (sha256sum's format), if any."""
    sums = directory / "SHA256SUMS"
    if not sums.exists():
        return {}
    checksums = {}
    for number, line in enumerate(sums.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) != 64 or not name:
            raise DataFileError(f"{sums}:{number}: expected '<sha256>  <file name>'; got {line!r}")
        checksums[name] = digest.lower()
    return checksums


def _first_existing(directory: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (directory / name).is_file():
            return directory / name
    return None


def default_cache_dir() -> Path:
    """``$CNNREF_MNIST_CACHE``, else ``$XDG_CACHE_HOME/cnnref/mnist`` (``~/.cache`` by default)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "cnnref" / "mnist"


def default_mirrors() -> tuple[str, ...]:
    """``$CNNREF_MNIST_MIRRORS`` split on white space, else ``MNIST_MIRRORS``."""
    return tuple(os.environ.get(MIRRORS_ENV, "").split()) or MNIST_MIRRORS


def ensure_downloaded(
    directory: Path,
    mirrors: Sequence[str],
    files: Mapping[str, str] = MNIST_FILES,
    log: Log = lambda message: None,
) -> Path:
    """Make ``directory`` hold every file in ``files`` ({name: sha256}) with its checksum."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, sha256 in files.items():
        path = directory / name
        if path.exists():
            try:
                check_sha256(path, sha256)
                continue
            except DataFileError as error:
                log(f"{error}; downloading it again")
        download(name, sha256, directory, mirrors, log)
    return directory


class DownloadError(DataFileError):
    """Every mirror failed to serve a file with the right checksum."""


def download(name: str, sha256: str, directory: Path, mirrors: Sequence[str], log: Log) -> Path:
    """Fetch ``name`` from the first mirror that serves it with SHA-256 ``sha256``."""
    if not mirrors:
        raise DownloadError(f"{directory / name}: missing, and no mirror to download it from")
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        log(f"downloading {url}")
        try:
            return fetch_verified(url, sha256, directory / name)
        except (OSError, http.client.HTTPException, DataFileError) as error:
            # URLError and HTTPError are OSErrors; a cut connection is an IncompleteRead
            failures.append(f"{url}: {' '.join(str(error).split())}")
    raise DownloadError(
        f"{directory / name}: could not download it from any mirror ({'; '.join(failures)})"
    )


def fetch_verified(url: str, sha256: str, path: Path) -> Path:
    """Stream ``url`` to ``path`` atomically; a checksum mismatch leaves ``path`` untouched."""
    digest = hashlib.sha256()
    with atomic_path(path) as temporary:
        with (
            urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response,
            open(temporary, "wb") as file,
        ):
            received = 0
            for chunk in iter(lambda: response.read(1 << 16), b""):
                digest.update(chunk)
                file.write(chunk)
                received += len(chunk)
        promised = response.headers.get("Content-Length")
        if promised is not None and received != int(promised):
            # http.client ends a cut response quietly: compare with what the server promised.
            raise DataFileError(f"connection closed after {received} of {promised} bytes")
        if digest.hexdigest() != sha256:
            raise DataFileError(
                f"checksum mismatch: SHA-256 {digest.hexdigest()}, expected {sha256}"
            )
    return path


def resolve_splits(
    data_dir: str | os.PathLike | None,
    *,
    cache_dir: Path | None = None,
    mirrors: Sequence[str] | None = None,
    log: Log = lambda message: None,
) -> Splits:
    """``--data DIR`` if given, else the cache directory, downloading what it lacks."""
    if data_dir is not None:
        return load_splits(data_dir)
    cache_dir = default_cache_dir() if cache_dir is None else cache_dir
    mirrors = default_mirrors() if mirrors is None else mirrors
    try:
        return load_splits(ensure_downloaded(cache_dir, mirrors, MNIST_FILES, log))
    except DownloadError as error:
        # Offline is the usual cause: say how to train without the network.
        raise DataFileError(
            f"{error}; without a download, give a directory of IDX files with --data DIR, "
            f"or put MNIST's four .gz files in {cache_dir} (the cache, ${CACHE_ENV})"
        ) from error
