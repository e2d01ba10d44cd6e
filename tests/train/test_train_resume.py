"""Checkpoints: written atomically, refused clearly when broken, and resumed bit for bit.

Every random choice of a run is seeded by (seed, epoch[, batch]), and the
checkpoint holds the parameters, the optimizer's moments and step count, and
the running sums of the current epoch: so a run stopped anywhere and resumed
takes exactly the steps of a run that never stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnnref.cli import main
from cnnref.train import checkpoint
from cnnref.train.checkpoint import load_checkpoint, save_checkpoint
from cnnref.train.cli import DEFAULTS
from cnnref.train.datasets import Digits, load_splits, write_digits
from cnnref.train.errors import DataFileError
from cnnref.train.loop import Run, TrainingConfig, train
from cnnref.train.model import small_cnn

pytestmark = pytest.mark.slow  # trains, stops and resumes in fresh processes

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """300 synthetic digits (240 to train on, 60 held out): fast, and enough for equality."""
    rng = np.random.default_rng(5)
    labels = rng.integers(0, 10, 300, dtype=np.uint8)
    images = rng.integers(0, 60, (300, 28, 28), dtype=np.uint8)
    images[np.arange(300), 2 * labels + 4, 4:24] = 255  # a bar whose row tells the class
    directory = tmp_path / "data"
    directory.mkdir()
    write_digits(directory, "t10k", Digits(images, labels))
    return directory


def stored(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    with np.load(path) as arrays:
        values = {key: arrays[key] for key in arrays.files if key != "meta"}
        meta = json.loads(str(arrays["meta"]))
    for record in meta["progress"]["history"]:  # wall-clock figures differ between runs
        del record["seconds"], record["images_per_second"]
    meta["progress"]["seconds"] = 0.0
    return values, meta


def assert_same_run(resumed: Path, uninterrupted: Path) -> None:
    ours, our_meta = stored(resumed)
    theirs, their_meta = stored(uninterrupted)
    assert sorted(ours) == sorted(theirs), (sorted(ours), sorted(theirs))
    for key in ours:
        assert np.array_equal(ours[key], theirs[key]), f"{key} differs after resuming"
    assert our_meta == their_meta, f"{our_meta['progress']} != {their_meta['progress']}"


def cli(*args: str | Path) -> int:
    return main(["train", *map(str, args)])


def test_resuming_after_an_epoch_equals_an_uninterrupted_run(
    data_dir: Path, tmp_path: Path
) -> None:
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    assert cli("--data", data_dir, "--epochs", 1, "--save", one, "--batch-size", 32) == 0
    assert cli("--data", data_dir, "--epochs", 2, "--resume", one) == 0
    assert cli("--data", data_dir, "--epochs", 2, "--save", two, "--batch-size", 32) == 0
    assert load_checkpoint(one).progress.epoch == 2
    assert_same_run(one, two)


def test_resuming_in_the_middle_of_an_epoch_equals_an_uninterrupted_run(
    data_dir: Path, tmp_path: Path
) -> None:
    splits = load_splits(data_dir)
    config = TrainingConfig(epochs=2, batch_size=32, seed=3)
    batches = []

    def stop_after_three_batches() -> bool:
        return len(batches) >= 3

    stopped = Run.start(small_cnn(), config, len(splits.train))
    train(stopped, splits, on_batch=batches.append, should_stop=stop_after_three_batches)
    assert (stopped.progress.epoch, stopped.progress.step) == (0, 3), stopped.progress
    save_checkpoint(tmp_path / "stopped.npz", stopped)

    resumed = load_checkpoint(tmp_path / "stopped.npz")
    train(resumed, splits)
    save_checkpoint(tmp_path / "resumed.npz", resumed)
    uninterrupted = Run.start(small_cnn(), config, len(splits.train))
    train(uninterrupted, splits)
    save_checkpoint(tmp_path / "uninterrupted.npz", uninterrupted)
    assert_same_run(tmp_path / "resumed.npz", tmp_path / "uninterrupted.npz")


def test_ctrl_c_saves_a_checkpoint_that_resumes_to_the_uninterrupted_result(
    data_dir: Path, tmp_path: Path
) -> None:
    saved = tmp_path / "interrupted.npz"
    command = [sys.executable, "-m", "cnnref", "train", "--data", str(data_dir)]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [*command, "--epochs", "500", "--save", str(saved)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=environment,
    )
    first_line = process.stdout.readline()  # the end of epoch 1
    # The signal lands somewhere in epoch 2, at whatever batch: the checkpoint says where, and
    # resuming from any batch must give the uninterrupted run.
    process.send_signal(signal.SIGINT)
    _, error = process.communicate(timeout=60)
    assert first_line.startswith("epoch   1/500"), first_line
    assert process.returncode == 130, f"exit status {process.returncode}: {error}"
    assert "stopped at epoch" in error and "Traceback" not in error, error

    epochs = load_checkpoint(saved).progress.epoch + 1
    resumed = subprocess.run(
        [*command, "--epochs", str(epochs), "--resume", str(saved)], cwd=REPO, env=environment
    )
    fresh = tmp_path / "fresh.npz"
    assert resumed.returncode == 0
    assert cli("--data", data_dir, "--epochs", epochs, "--save", fresh) == 0
    assert_same_run(saved, fresh)


def test_a_failed_write_leaves_the_previous_checkpoint_intact(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.npz"
    run = Run.start(small_cnn(), TrainingConfig(), 240)
    save_checkpoint(path, run)
    before = path.read_bytes()

    def crash_mid_write(file, **arrays) -> None:
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.np, "savez", crash_mid_write)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, run)
    assert path.read_bytes() == before, "the checkpoint was changed by a failed write"
    assert [p.name for p in tmp_path.iterdir() if p.name != "data"] == ["model.npz"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not a zip file at all", "not a readable .npz checkpoint"),
        ("truncated", "not a readable .npz checkpoint"),
        ("no meta", "not a cnnref training checkpoint"),
    ],
)
def test_a_broken_checkpoint_is_a_clear_error_naming_the_file(
    tmp_path: Path, content: bytes | str, message: str
) -> None:
    path = tmp_path / "broken.npz"
    if content == "truncated":
        save_checkpoint(path, Run.start(small_cnn(), TrainingConfig(), 240))
        path.write_bytes(path.read_bytes()[:2000])
    elif content == "no meta":
        np.savez(path, weights=np.zeros(3))
    else:
        path.write_bytes(content)
    with pytest.raises(DataFileError, match=message) as caught:
        load_checkpoint(path)
    assert str(path) in str(caught.value)


def test_resuming_with_another_learning_rate_is_a_usage_error(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.npz"
    assert cli("--data", data_dir, "--epochs", 1, "--save", path) == 0
    capsys.readouterr()
    assert cli("--data", data_dir, "--epochs", 2, "--resume", path, "--lr", "0.1") == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0, f"more than one line: {error!r}"
    assert f"--lr 0.1 differs from the checkpoint's {DEFAULTS.lr}" in error, error


def test_resuming_on_other_data_is_refused(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.npz"
    assert cli("--data", data_dir, "--epochs", 1, "--save", path) == 0
    other = tmp_path / "other"
    other.mkdir()
    write_digits(other, "t10k", load_splits(data_dir).train)
    capsys.readouterr()
    assert cli("--data", other, "--epochs", 2, "--resume", path) == 1
    error = capsys.readouterr().err
    assert f"{path} was trained on 240 images; the data has 192 to train on" in error, error


def test_a_checkpoint_from_before_the_augmentation_settings_keeps_its_first_recipe(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.npz"
    save_checkpoint(path, Run.start(small_cnn(), TrainingConfig(), 240))
    with np.load(path) as arrays:
        stored = {key: arrays[key] for key in arrays.files}
    meta = json.loads(str(stored["meta"]))
    for newer in ("rotation", "scale", "shear", "stroke"):
        del meta["config"][newer]
    stored["meta"] = np.array(json.dumps(meta))
    np.savez(path, **stored)
    assert load_checkpoint(path).config == TrainingConfig()  # whole-pixel shifts, as it trained
