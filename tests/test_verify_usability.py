"""What a new user of ``cnnref verify`` meets: load-time errors, report names, Ctrl-C, progress,
failures that share one cause."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def cnnref(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    environment = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "cnnref", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_an_import_time_error_names_the_candidates_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "mylayers.py").write_text(
        textwrap.dedent(
            """
            import json


            def settings():
                return json.loads("{")  # raises inside json: the line to name is this one


            SETTINGS = settings()
            """
        )
    )
    run = cnnref("verify", "--impl", "mylayers", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    (line,) = run.stderr.splitlines()
    assert line.startswith("cnnref verify: error: cannot import 'mylayers': JSONDecodeError"), line
    assert line.endswith(f"(at {tmp_path / 'mylayers.py'}, line 6)"), line


@pytest.mark.parametrize("option", ["--report", "--json", "--junit"])
def test_a_report_name_whose_suffix_is_not_its_format_is_a_usage_error(
    option: str, tmp_path: Path
) -> None:
    run = cnnref("verify", "--ops", "conv2d", option, "r.txt", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    suffix = {"--report": ".html", "--json": ".json", "--junit": ".xml"}[option]
    assert f"argument {option}: the file name must end in {suffix}" in run.stderr, run.stderr
    assert run.stdout == "" and not (tmp_path / "r.txt").exists()
