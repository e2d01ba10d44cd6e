"""--strict and --require: a grader's run in which declarations excuse only what it allows.

``tests/candidates/limited.py`` is correct where it claims to be and declares
groups, dilation and ceil_mode unsupported; ``conventions.ties_split`` declares
a pooling convention that is not PyTorch's.  A default run passes both; a
strict run fails each property whose function declared something away, with
a message naming the declaration; ``require`` fails only what it names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnref.declarations import NOTHING_DECLARED, Conventions, Declarations, enforce, parse
from cnnref.verify import verify
from tests.support.cli import cnnref

pytestmark = pytest.mark.slow  # whole runs under --strict and --require

LIMITED = "tests.candidates.limited"
CONV = ["conv2d.matches_reference"]


def test_a_default_run_honours_the_declarations() -> None:
    assert verify(LIMITED, properties=CONV, examples=5, seed=0).passed


def test_strict_fails_a_declared_feature_naming_the_declaration() -> None:
    result = verify(LIMITED, properties=CONV, examples=5, seed=0, strict=True)
    (prop,) = result.properties
    assert prop.status == "failed"
    failure = prop.failure
    text = failure.message + " ".join(failure.hints)
    assert "CNNREF_UNSUPPORTED declares 'dilation', 'groups' unsupported for conv2d" in text
    assert "--strict requires every feature" in text
    assert result.settings["strict"] is True
    # Every feature was drawn: the declaration excused nothing.
    assert result.settings["declared"]["conv2d"]["unsupported"] == []


def test_require_fails_only_the_features_it_names() -> None:
    result = verify(LIMITED, properties=CONV, examples=5, seed=0, require=["groups"])
    (prop,) = result.properties
    assert prop.status == "failed"
    text = prop.failure.message + " ".join(prop.failure.hints)
    assert "'groups'" in text and "'dilation'" not in text and "--require" in text
    assert result.settings["declared"]["conv2d"]["unsupported"] == ["dilation"]
    # A feature the candidate never declared away is required at no cost.
    assert verify(LIMITED, properties=CONV, examples=5, seed=0, require=["conv_padding"]).passed


def test_strict_checks_pytorchs_pooling_conventions() -> None:
    declared = parse((), {"max_pool2d_backward": {"ties": "split"}})
    honoured, reasons = enforce(declared, strict=True)
    assert honoured.conventions_for("max_pool2d_backward") == Conventions()
    assert reasons == {
        "max_pool2d_backward": [
            "CNNREF_CONVENTIONS declares ties=split for max_pool2d_backward; --strict checks "
            "PyTorch's conventions"
        ]
    }


def test_excused_features_stay_honoured_under_strict() -> None:
    declared = parse({"groups", "int_arguments"})
    honoured, reasons = enforce(declared, strict=True, excused=["int_arguments"])
    assert honoured.unsupported_for("conv2d") == {"int_arguments"}
    assert "'groups'" in reasons["conv2d"][0] and "int_arguments" not in reasons["conv2d"][0]
    assert enforce(NOTHING_DECLARED, strict=True) == (
        Declarations({f: frozenset() for f in honoured.unsupported}, {}),
        {},
    )


def test_the_cli_and_the_report_say_strict_and_require(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    command = ["verify", "--impl", LIMITED, "--seed", "0", "--examples", "3"]
    command += ["--property", CONV[0], "--require", "groups,stride", "--json", str(report)]
    run = cnnref(*command)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "CNNREF_UNSUPPORTED declares 'groups' unsupported for conv2d" in run.stdout
    settings = json.loads(report.read_text())["settings"]
    assert settings["require"] == ["groups", "stride"] and settings["strict"] is False


@pytest.mark.parametrize(
    ("value", "words"),
    [("groups,nonsense", "unknown features ['nonsense']"), (",", "expected feature names")],
)
def test_require_with_an_unknown_feature_is_a_usage_error(value: str, words: str) -> None:
    run = cnnref("verify", "--impl", LIMITED, "--require", value)
    assert run.returncode == 2 and "--require" in run.stderr and "Traceback" not in run.stderr
    assert words in run.stderr
