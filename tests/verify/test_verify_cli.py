"""``cnnref verify`` as a CI gate: exit codes, output, reports.

The command runs in this process, through ``cnnref.cli.main`` as the console script calls it
(PyTorch and SciPy are already imported here: a second or two saved per run); the last
tests check that the console script and ``python -m cnnref`` give the same in a fresh process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import pytest

from cnnref.cli import main
from tests.support.cli import cnnref, fresh

pytestmark = pytest.mark.slow  # runs cnnref verify


def test_a_correct_candidate_exits_0_with_a_summary_table(tmp_path: Path) -> None:
    run = cnnref(
        "verify",
        "--ops",
        "conv2d",
        "--examples",
        "15",
        "--seed",
        "1",
        "--json",
        str(tmp_path / "r.json"),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert (
        "conv2d.matches_reference" in run.stdout
        and "PASSED: cnnref: 5 passed, 0 failed" in run.stdout
    )
    assert "conv2d.matches_reference" in run.stderr, "progress goes to stderr"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["passed"] is True and len(report["properties"]) == 5


def test_a_buggy_candidate_exits_1_and_explains() -> None:
    run = cnnref(
        "verify",
        "--impl",
        "tests.candidates.catalogue:ties_last",
        "--ops",
        "pool",
        "--seed",
        "0",
        "-x",
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED max_pool2d_backward.matches_reference" in run.stdout
    assert "FIRST maximum" in run.stdout
    assert (
        "cnnref verify --impl tests.candidates.catalogue:ties_last --property max_pool2d_backward.matches_reference"
        in run.stdout
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--impl", "no_such_module_xyz"],
            "cnnref verify: error: cannot import 'no_such_module_xyz': ModuleNotFoundError",
        ),
        (["--impl", "cnnref:nothing"], "'cnnref:nothing': cnnref has no attribute 'nothing'"),
        (
            ["--impl", "json"],
            "'json' exposes none of conv2d, conv2d_backward, max_pool2d, max_pool2d_backward",
        ),
        (["--examples", "0"], "argument --examples: must be > 0 and finite; got 0"),
        (["--ops", "conv3d"], "argument --ops: invalid choice: 'conv3d'"),
        (["--timeout", "-1"], "argument --timeout: must be > 0"),
        (
            ["--ops", "pool", "--property", "conv2d.matches_reference"],
            "nothing would be checked",
        ),
        (["--memory", "10M"], "argument --memory: must be at least 256M"),
        (["--memory", "lots"], "argument --memory: expected a size such as 4G or 512M"),
        (["--forbid", "1torch"], "argument --forbid: expected module names"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(args: list[str], message: str) -> None:
    run = cnnref("verify", *args)
    assert run.returncode == 2, run.stdout + run.stderr
    assert message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("option", "path", "message"),
    [
        ("--report", "no_such_dir/r.html", "directory no_such_dir does not exist"),
        ("--json", ".", ". is a directory; give a file name"),
        ("--junit", "README.md/r.xml", "directory README.md does not exist"),
    ],
)
def test_a_report_path_that_cannot_be_written_fails_before_the_run(
    option: str, path: str, message: str
) -> None:
    run = cnnref("verify", "--ops", "conv2d", option, path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"argument {option}: {message}" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr and run.stdout == "", "nothing ran"


def test_exitfirst_says_how_many_properties_it_never_ran(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    run = cnnref(
        "verify",
        "--impl",
        "tests.candidates.catalogue:raises",
        "--ops",
        "conv2d_backward",
        "--examples",
        "5",
        "-x",
        "--json",
        str(report),
    )
    assert run.returncode == 1, run.stdout + run.stderr
    not_run = json.loads(report.read_text())["not_run"]
    assert len(not_run) == 4 and all(name.startswith("conv2d_backward.") for name in not_run)
    assert "0 passed, 1 failed, 0 not covered, 4 not run (stopped at the first failure)" in (
        run.stdout
    ), run.stdout
    # The failed row says what went wrong, never a ratio of the examples that passed.
    row = next(line for line in run.stdout.splitlines() if " failed " in line)
    name, status, _examples, worst, *_time = row.split()
    assert (name, status, worst) == ("conv2d_backward.matches_reference", "failed", "raised"), row


def test_a_run_that_checks_nothing_exits_1_and_says_why() -> None:
    run = cnnref(
        "verify",
        "--impl",
        "tests.candidates.limited",
        "--ops",
        "conv2d_backward",
        "--examples",
        "3",
    )
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED (nothing checked)" in run.stdout
    assert "tests.candidates.limited does not expose conv2d_backward" in run.stdout


def test_list_names_every_property() -> None:
    from cnnref.checks import PROPERTIES

    run = cnnref("verify", "--list")
    assert run.returncode == 0
    for prop in PROPERTIES:
        assert prop.name in run.stdout


def test_reports_are_written_in_every_format(tmp_path: Path) -> None:
    paths = {kind: tmp_path / f"report.{kind}" for kind in ("json", "html", "xml")}
    run = cnnref(
        "verify",
        "--ops",
        "pool",
        "--examples",
        "5",
        "--seed",
        "2",
        "--json",
        str(paths["json"]),
        "--report",
        str(paths["html"]),
        "--junit",
        str(paths["xml"]),
    )
    assert run.returncode == 0, run.stderr
    for kind, path in paths.items():
        assert path.stat().st_size > 0, f"{kind} report is empty"
        assert path.stat().st_mode & 0o044, (
            f"{kind} report is not readable by others: mkstemp's 0600 leaked"
        )
    assert (
        list(tmp_path.iterdir())
        == sorted(paths.values(), key=lambda p: list(tmp_path.iterdir()).index(p))
        or len(list(tmp_path.iterdir())) == 3
    ), "temporary files left behind"


def test_python_dash_m_and_the_console_script_agree() -> None:
    # The console script installed beside this interpreter, whether or not its folder is on PATH.
    script = Path(sys.executable).parent / "cnnref"
    assert script.exists(), (
        f"no console script at {script}: is cnnref installed (pip install -e .)?"
    )
    run = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.startswith("cnnref ")
    assert fresh("--version").stdout == run.stdout == cnnref("--version").stdout


def test_the_exit_code_and_the_error_reach_the_shell() -> None:
    run = fresh("verify", "--examples", "0")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "argument --examples: must be > 0 and finite; got 0" in run.stderr, run.stderr


def test_main_prints_where_the_caller_redirected_output() -> None:
    out = StringIO()
    with redirect_stdout(out):
        assert main(["verify", "--list"]) == 0
    assert "conv2d.matches_reference" in out.getvalue()
