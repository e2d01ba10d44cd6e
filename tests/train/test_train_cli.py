"""``cnnref train`` / ``cnnref evaluate`` misuse: exit 2 or 1 with one clear line, no traceback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cnnref.cli import main
from cnnref.train.datasets import Digits, write_digits


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    rng = np.random.default_rng(2)
    digits = Digits(rng.integers(0, 256, (50, 28, 28), np.uint8), rng.integers(0, 10, 50, np.uint8))
    write_digits(tmp_path, "t10k", digits)
    return tmp_path


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--epochs", "0"], "argument --epochs: must be > 0 and finite; got 0"),
        (["--batch-size", "many"], "argument --batch-size: expected a whole number; got 'many'"),
        (["--lr", "-1"], "argument --lr: must be > 0 and finite; got -1"),
    ],
)
def test_bad_numbers_are_usage_errors(
    arguments: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["train", *arguments])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_saving_into_a_missing_directory_is_refused_before_training(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "missing" / "model.npz"
    assert main(["train", "--data", str(data_dir), "--save", str(target)]) == 2
    error = capsys.readouterr().err.strip()
    assert error == (
        f"cnnref train: error: --save {target}: directory {target.parent} does not exist"
    ), error


def test_a_missing_data_directory_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--data", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err.strip() == (
        f"cnnref train: error: {tmp_path / 'nowhere'}: no such directory"
    )


def test_evaluating_a_missing_model_is_named(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.npz"
    assert main(["evaluate", str(missing), "--data", str(data_dir)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"cnnref evaluate: error: {missing}: no such checkpoint"
    )


def test_train_prints_an_epoch_line_per_epoch_and_the_accuracy_last(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["train", "--data", str(data_dir), "--epochs", "2", "--batch-size", "16"]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert [line.split()[1] for line in lines[:2]] == ["1/2", "2/2"], lines
    assert "img/s" in lines[0] and lines[-1].startswith("accuracy: 0."), lines
    assert "only the t10k pair: training on its first 40 images, testing on the last 10" in (
        captured.err
    )


@pytest.mark.parametrize(
    ("key", "value", "named"),
    [
        ("parameter/3.weight", np.nan, "parameter 3.weight holds 1 non-finite value"),
        ("parameter/7.bias", np.inf, "parameter 7.bias holds 1 non-finite value"),
        ("optimizer/second_moment/0.weight", np.nan, "optimizer second_moment/0.weight holds"),
    ],
)
@pytest.mark.parametrize("command", ["evaluate", "resume"])
def test_a_model_with_non_finite_values_is_refused_naming_file_and_array(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: float,
    named: str,
    command: str,
) -> None:
    model = tmp_path / "model.npz"
    assert main(["train", "--data", str(data_dir), "--epochs", "1", "--save", str(model)]) == 0
    with np.load(model) as stored:
        arrays = {name: stored[name] for name in stored.files}
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] = value
    np.savez(model, **arrays)
    capsys.readouterr()

    if command == "evaluate":
        status = main(["evaluate", str(model), "--data", str(data_dir)])
    else:
        status = main(["train", "--data", str(data_dir), "--epochs", "2", "--resume", str(model)])
    captured = capsys.readouterr()
    error = captured.err.strip()
    assert status == 1, captured
    assert "accuracy" not in captured.out, captured.out
    assert error.count("\n") == 0 and "Traceback" not in error, error
    prefix = "cnnref evaluate" if command == "evaluate" else "cnnref train"
    assert error.startswith(f"{prefix}: error: {model}: {named}"), error
