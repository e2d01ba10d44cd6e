"""The IDX loader and ``--data DIR``: valid files load, every broken one is a clear error naming it."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from cnnref.cli import main
from cnnref.train.datasets import Digits, load_splits, write_digits
from cnnref.train.errors import DataFileError
from cnnref.train.idx import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    idx_bytes,
    read_idx,
    read_pair,
)


def some_digits(count: int, seed: int = 0) -> Digits:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
    return Digits(images, rng.integers(0, 10, size=count, dtype=np.uint8))


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_a_valid_pair_reads_back_exactly(tmp_path: Path, compress: bool) -> None:
    digits = some_digits(7)
    write_digits(tmp_path, "t10k", digits, compress=compress)
    suffix = ".gz" if compress else ""
    images, labels = read_pair(
        tmp_path / f"t10k-images-idx3-ubyte{suffix}", tmp_path / f"t10k-labels-idx1-ubyte{suffix}"
    )
    assert images.shape == (7, 28, 28), f"images shape {images.shape}"
    np.testing.assert_array_equal(images, digits.images)
    np.testing.assert_array_equal(labels, digits.labels)


def test_the_header_is_big_endian_with_mnist_magic_numbers() -> None:
    encoded = idx_bytes(np.zeros((3, 28, 28), np.uint8))
    assert encoded[:4] == bytes([0, 0, 8, 3]), f"magic bytes {encoded[:4]!r}"
    assert int.from_bytes(encoded[:4], "big") == IMAGES_MAGIC == 2051
    assert encoded[4:16] == b"\x00\x00\x00\x03\x00\x00\x00\x1c\x00\x00\x00\x1c"
    assert int.from_bytes(idx_bytes(np.zeros(5, np.uint8))[:4], "big") == LABELS_MAGIC == 2049


def test_the_real_mnist_header_layout_is_read(tmp_path: Path) -> None:
    # Built by hand, not by idx_bytes: 2 images of 2x3 pixels.
    path = tmp_path / "hand.idx"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, *range(12)]))
    array = read_idx(path, IMAGES_MAGIC)
    np.testing.assert_array_equal(array, np.arange(12, dtype=np.uint8).reshape(2, 2, 3))


def write(path: Path, content: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(content) if compress else content)
    return path


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_a_wrong_magic_number_names_the_file_and_both_numbers(
    tmp_path: Path, compress: bool
) -> None:
    path = write(tmp_path / "labels-as-images", idx_bytes(np.zeros(4, np.uint8)), compress)
    with pytest.raises(DataFileError) as caught:
        read_idx(path, IMAGES_MAGIC)
    message = str(caught.value)
    assert str(path) in message and "2049" in message and "2051" in message, message


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_a_truncated_payload_is_an_error_not_a_short_read(tmp_path: Path, compress: bool) -> None:
    content = idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-100]
    path = write(tmp_path / "short", content, compress)
    with pytest.raises(DataFileError, match="truncated") as caught:
        read_idx(path, IMAGES_MAGIC)
    assert str(path) in str(caught.value) and "2352" in str(caught.value), str(caught.value)


def test_a_truncated_header_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "header", idx_bytes(np.zeros((3, 28, 28), np.uint8))[:10], False)
    with pytest.raises(DataFileError, match="truncated header") as caught:
        read_idx(path, IMAGES_MAGIC)
    assert str(path) in str(caught.value)


def test_a_file_shorter_than_a_magic_number_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "tiny", b"\x00\x00", False)
    with pytest.raises(DataFileError, match="too short") as caught:
        read_idx(path, LABELS_MAGIC)
    assert str(path) in str(caught.value)


def test_trailing_bytes_are_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "long", idx_bytes(np.zeros(4, np.uint8)) + b"\x00", False)
    with pytest.raises(DataFileError, match="trailing") as caught:
        read_idx(path, LABELS_MAGIC)
    assert str(path) in str(caught.value)


def test_a_cut_gzip_stream_is_an_error(tmp_path: Path) -> None:
    compressed = gzip.compress(idx_bytes(some_digits(50).images))
    path = tmp_path / "cut.gz"
    path.write_bytes(compressed[: len(compressed) // 2])
    with pytest.raises(DataFileError, match="gzip") as caught:
        read_idx(path, IMAGES_MAGIC)
    assert str(path) in str(caught.value)


def test_images_and_labels_of_different_counts_name_both_files(tmp_path: Path) -> None:
    write_digits(tmp_path, "t10k", some_digits(5))
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(idx_bytes(np.zeros(4, np.uint8))))
    with pytest.raises(DataFileError) as caught:
        load_splits(tmp_path)
    message = str(caught.value)
    assert "5 images" in message and "4 labels" in message and str(labels) in message, message


def test_a_checksum_mismatch_names_the_file(tmp_path: Path) -> None:
    write_digits(tmp_path, "t10k", some_digits(5))
    images = tmp_path / "t10k-images-idx3-ubyte.gz"
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    right = hashlib.sha256(labels.read_bytes()).hexdigest()
    (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  {images.name}\n{right}  {labels.name}\n")
    with pytest.raises(DataFileError, match="checksum mismatch") as caught:
        load_splits(tmp_path)
    assert str(images) in str(caught.value), str(caught.value)


def test_matching_checksums_pass(tmp_path: Path) -> None:
    write_digits(tmp_path, "t10k", some_digits(10))
    sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in tmp_path.iterdir()]
    (tmp_path / "SHA256SUMS").write_text("\n".join(sums) + "\n")
    assert len(load_splits(tmp_path).test) == 2


def test_a_label_outside_0_to_9_is_an_error(tmp_path: Path) -> None:
    digits = some_digits(5)
    labels = digits.labels.copy()
    labels[3] = 10
    write_digits(tmp_path, "t10k", Digits(digits.images, labels))
    with pytest.raises(DataFileError, match="label 10 at index 3"):
        load_splits(tmp_path)


def test_images_that_are_not_28_by_28_are_an_error(tmp_path: Path) -> None:
    write_digits(tmp_path, "t10k", Digits(np.zeros((2, 32, 32), np.uint8), np.zeros(2, np.uint8)))
    with pytest.raises(DataFileError, match="32x32, expected 28x28"):
        load_splits(tmp_path)


def test_a_missing_labels_file_is_named(tmp_path: Path) -> None:
    write_digits(tmp_path, "t10k", some_digits(5))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataFileError, match="has no matching t10k-labels-idx1-ubyte"):
        load_splits(tmp_path)


def test_a_directory_without_t10k_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no t10k pair"):
        load_splits(tmp_path)


def test_only_t10k_holds_out_the_last_fifth(tmp_path: Path) -> None:
    digits = some_digits(50)
    write_digits(tmp_path, "t10k", digits)
    splits = load_splits(tmp_path)
    np.testing.assert_array_equal(splits.train.images, digits.images[:40])
    np.testing.assert_array_equal(splits.test.labels, digits.labels[40:])
    assert "first 40 images" in splits.description and "last 10" in splits.description


def test_a_train_pair_is_trained_on_and_t10k_tested_on(tmp_path: Path) -> None:
    write_digits(tmp_path, "train", some_digits(30, seed=1), compress=False)
    write_digits(tmp_path, "t10k", some_digits(12, seed=2))
    splits = load_splits(tmp_path)
    assert (len(splits.train), len(splits.test)) == (30, 12)
    np.testing.assert_array_equal(splits.test.images, some_digits(12, seed=2).images)


def test_the_cli_reports_a_bad_file_in_one_line_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_digits(tmp_path, "t10k", some_digits(5))
    bad = tmp_path / "t10k-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x08\x04" + bytes(40)))
    status = main(["train", "--data", str(tmp_path), "--epochs", "1"])
    error = capsys.readouterr().err
    assert status == 1, f"exit status {status}"
    assert f"cnnref train: error: {bad}: magic number 2052" in error, error
    assert "Traceback" not in error, error
