"""A report for every run: a candidate that cannot be loaded still gets its JSON and HTML
reports, saying why, so that a grader's pipeline finds a result for every submission."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import cnnref

pytestmark = pytest.mark.slow  # each case runs cnnref verify


@pytest.mark.parametrize(
    ("source", "extra", "reason"),
    [
        ("raise RuntimeError('half-finished homework')\n", [], "half-finished homework"),
        ("import torch\n", ["--forbid", "torch"], "importing 'torch' is forbidden"),
        ("x = 1\n", [], "exposes none of"),
    ],
)
def test_a_candidate_that_cannot_be_loaded_gets_a_report_with_the_reason(
    tmp_path: Path, source: str, extra: list[str], reason: str
) -> None:
    (tmp_path / "homework.py").write_text(source)
    report, page = tmp_path / "report.json", tmp_path / "report.html"
    options = ["--json", str(report), "--report", str(page)]
    run = cnnref("verify", "--impl", "homework", *extra, *options, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert reason in run.stderr and "Traceback" not in run.stderr
    written = json.loads(report.read_text())
    assert written["passed"] is False and written["properties"] == []
    assert reason in written["settings"]["load_error"]
    assert "not loaded: " in page.read_text()
