"""Downloading MNIST: mirrors tried in order, SHA-256 checked, nothing half-written left behind.

A local HTTP server on 127.0.0.1 (loopback only) serves files the tests make.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from cnnref.cli import main
from cnnref.train import datasets
from cnnref.train.datasets import (
    Digits,
    default_mirrors,
    ensure_downloaded,
    load_splits,
    write_digits,
)
from cnnref.train.errors import DataFileError


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves its directory; ``/cut/<name>`` promises the whole file but sends half of it."""

    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        if self.path.startswith("/cut/"):
            content = (Path(self.directory) / "good" / self.path.removeprefix("/cut/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content[: len(content) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


class Mirrors:
    """``good/`` serves the real files, ``bad/`` other bytes under the same names, ``none/`` 404s."""

    def __init__(self, root: Path, port: int, requests: list[str]) -> None:
        self.root, self.requests = root, requests
        self.base = f"http://127.0.0.1:{port}"

    def url(self, kind: str) -> str:
        return f"{self.base}/{kind}/"


@pytest.fixture
def mirrors(tmp_path: Path) -> Iterator[Mirrors]:
    root = tmp_path / "served"
    for kind in ("good", "bad"):
        (root / kind).mkdir(parents=True)
    rng = np.random.default_rng(0)
    digits = Digits(rng.integers(0, 256, (20, 28, 28), np.uint8), rng.integers(0, 10, 20, np.uint8))
    for prefix in ("train", "t10k"):  # MNIST's four file names
        write_digits(root / "good", prefix, digits)
    for path in (root / "good").iterdir():
        (root / "bad" / path.name).write_bytes(gzip.compress(b"not these bytes"))
    requests: list[str] = []
    handler = partial(type("Handler", (QuietHandler,), {"requests": requests}), directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Mirrors(root, server.server_address[1], requests)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def served_checksums(mirrors: Mirrors) -> dict[str, str]:
    good = sorted((mirrors.root / "good").iterdir())
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in good}


def test_falls_through_bad_and_missing_mirrors_to_the_good_one(
    mirrors: Mirrors, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    files = served_checksums(mirrors)
    order = [mirrors.url("bad"), mirrors.url("none"), mirrors.url("cut"), mirrors.url("good")]
    ensure_downloaded(cache, order, files)
    for name, sha256 in files.items():
        assert hashlib.sha256((cache / name).read_bytes()).hexdigest() == sha256, name
        tried = [r for r in mirrors.requests if r.endswith(name)]
        assert tried == [f"/{kind}/{name}" for kind in ("bad", "none", "cut", "good")], tried
    assert sorted(p.name for p in cache.iterdir()) == sorted(files), list(cache.iterdir())
    splits = load_splits(cache)
    assert (len(splits.train), len(splits.test)) == (20, 20), splits.description


def test_when_every_mirror_fails_the_error_says_why_for_each_and_leaves_nothing(
    mirrors: Mirrors, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    files = served_checksums(mirrors)
    with pytest.raises(DataFileError) as caught:
        ensure_downloaded(
            cache, [mirrors.url("bad"), mirrors.url("none"), mirrors.url("cut")], files
        )
    message = str(caught.value)
    assert "checksum mismatch" in message and "404" in message, message
    assert "connection closed after" in message, message
    assert list(cache.iterdir()) == [], f"left behind: {list(cache.iterdir())}"


def test_cached_files_with_the_right_checksum_are_not_downloaded_again(
    mirrors: Mirrors, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    files = served_checksums(mirrors)
    ensure_downloaded(cache, [mirrors.url("good")], files)
    first = len(mirrors.requests)
    ensure_downloaded(cache, [mirrors.url("good")], files)
    assert len(mirrors.requests) == first, mirrors.requests[first:]


def test_a_corrupt_cached_file_is_downloaded_again(mirrors: Mirrors, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    files = served_checksums(mirrors)
    ensure_downloaded(cache, [mirrors.url("good")], files)
    corrupt = cache / next(iter(files))
    corrupt.write_bytes(b"garbage")
    ensure_downloaded(cache, [mirrors.url("good")], files)
    assert hashlib.sha256(corrupt.read_bytes()).hexdigest() == files[corrupt.name]


def test_mirrors_come_from_the_environment_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(datasets.MIRRORS_ENV, "http://a.example/x/  http://b.example/y/")
    assert default_mirrors() == ("http://a.example/x/", "http://b.example/y/")
    monkeypatch.delenv(datasets.MIRRORS_ENV)
    assert default_mirrors() == datasets.MNIST_MIRRORS


def use_cache_and_mirrors(monkeypatch: pytest.MonkeyPatch, cache: Path, *urls: str) -> None:
    """What a user sets to move the cache and to pick mirrors: the two environment variables."""
    monkeypatch.setenv(datasets.CACHE_ENV, str(cache))
    monkeypatch.setenv(datasets.MIRRORS_ENV, " ".join(urls))


def test_train_without_data_downloads_into_the_cache_and_trains(
    mirrors: Mirrors,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cache = tmp_path / "cache"
    use_cache_and_mirrors(monkeypatch, cache, mirrors.url("bad"), mirrors.url("good"))
    monkeypatch.setattr(datasets, "MNIST_FILES", served_checksums(mirrors))
    status = main(["train", "--epochs", "1"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert captured.out.splitlines()[-1].startswith("accuracy: "), captured.out
    assert sorted(p.name for p in cache.iterdir()) == sorted(datasets.MNIST_FILES)


def test_train_without_data_rejects_files_that_are_not_mnist(
    mirrors: Mirrors,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The served files are not MNIST, so they cannot have MNIST's SHA-256: every mirror fails.
    cache = tmp_path / "cache"
    use_cache_and_mirrors(monkeypatch, cache, mirrors.url("good"), mirrors.url("bad"))
    status = main(["train", "--epochs", "1"])
    error = capsys.readouterr().err
    assert status == 1, f"exit status {status}"
    assert f"{cache / 'train-images-idx3-ubyte.gz'}: could not download it" in error, error
    assert error.count("checksum mismatch") == 2 and "Traceback" not in error, error
    assert one_error_line(error).startswith("cnnref train: error: "), error
    assert list(cache.iterdir()) == [], f"left behind: {list(cache.iterdir())}"


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_offline_without_data_says_to_give_data_in_one_line(
    mirrors: Mirrors,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    # Two mirrors that answer 404, as an offline machine's would all fail: the user must
    # learn that --data DIR (or a filled cache) trains without the network.
    cache = tmp_path / "cache"
    use_cache_and_mirrors(monkeypatch, cache, mirrors.url("none"), mirrors.url("gone"))
    arguments = ["evaluate", str(tmp_path / "model.npz")] if command == "evaluate" else ["train"]
    if command == "evaluate":
        main(["train", "--data", str(small_data(tmp_path)), "--epochs", "1", "--save",
              arguments[1]])  # fmt: skip
        capsys.readouterr()
    status = main(arguments)
    captured = capsys.readouterr()
    error = captured.err
    assert status == 1, f"exit status {status}"
    assert captured.out == "", captured.out
    assert "Traceback" not in error, error
    error = one_error_line(error)
    assert error.startswith(f"cnnref {command}: error: {cache / 'train-images-idx3-ubyte.gz'}: "
                            "could not download it from any mirror ("), error  # fmt: skip
    assert error.count("404") == 2, error
    assert "--data DIR" in error and f"{cache} (the cache, $CNNREF_MNIST_CACHE)" in error, error


def one_error_line(stderr: str) -> str:
    """The error, checked to be one line after the progress lines naming each URL tried."""
    *progress, error = stderr.splitlines()
    assert all(line.startswith("downloading http") for line in progress), stderr
    return error


def small_data(tmp_path: Path) -> Path:
    """A t10k pair of 20 random digits: enough to train a model for a second."""
    directory = tmp_path / "small"
    directory.mkdir()
    rng = np.random.default_rng(1)
    digits = Digits(rng.integers(0, 256, (20, 28, 28), np.uint8), rng.integers(0, 10, 20, np.uint8))
    write_digits(directory, "t10k", digits)
    return directory
