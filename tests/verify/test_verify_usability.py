"""What a new user of ``cnnref verify`` meets: load-time errors, report names, Ctrl-C, progress,
failures that share one cause."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import find

from cnnref.ops import OPS
from cnnref.results import PropertyResult, Status
from cnnref.sandbox.confine import landlock_abi
from cnnref.sandbox.signatures import expected_calls
from cnnref.verify import CandidateLoadError, select_properties, verify
from cnnref.verify.cli import ProgressPrinter
from tests.conftest import require
from tests.support.cli import cnnref

pytestmark = pytest.mark.slow  # most tests run cnnref verify

ROOT = Path(__file__).resolve().parents[2]
SCALED_DW = "tests.candidates.scaled_dw"
NUMERIC_BACKWARD = [
    "conv2d_backward.matches_reference",
    "conv2d_backward.finite_differences",
    "conv2d_backward.adjointness",
]


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


def test_a_module_that_imports_its_neighbour_is_told_how_to_let_it(tmp_path: Path) -> None:
    """The fence lets a module candidate read its own file only; the error names the remedy,
    and the remedy works."""
    require(landlock_abi() >= 1, "Landlock (Linux 5.13 or newer): the kernel lacks it")
    (tmp_path / "helper.py").write_text("from cnnref import conv2d, conv2d_backward\n")
    (tmp_path / "mylayers.py").write_text("from helper import conv2d, conv2d_backward\n")
    options = ["verify", "--impl", "mylayers", "--ops", "conv2d", "--examples", "2"]
    run = cnnref(*options, cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    (line,) = run.stderr.splitlines()
    assert f"Permission denied: '{tmp_path / 'helper.py'}'" in line, line
    assert line.endswith(f"--allow-read {tmp_path} (--cnnref-allow-read in pytest)"), line
    again = cnnref(*options, "--allow-read", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr


@pytest.mark.parametrize("option", ["--report", "--json", "--junit"])
def test_a_report_name_whose_suffix_is_not_its_format_is_a_usage_error(
    option: str, tmp_path: Path
) -> None:
    run = cnnref("verify", "--ops", "conv2d", option, "r.txt", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    suffix = {"--report": ".html", "--json": ".json", "--junit": ".xml"}[option]
    assert f"argument {option}: the file name must end in {suffix}" in run.stderr, run.stderr
    assert run.stdout == "" and not (tmp_path / "r.txt").exists()


def test_ctrl_c_summarises_what_ran_writes_the_reports_and_exits_130(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "cnnref", "verify", "--ops", "conv2d", "--examples", "100"]
    verifier = subprocess.Popen(
        [*command, "--seed", "0", "--json", "r.json", "--report", "r.html"],
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = verifier.stderr.readline()  # not a terminal: one line per finished property
        assert "conv2d.matches_reference" in first, first
        verifier.send_signal(signal.SIGINT)  # what Ctrl-C sends the foreground process
        out, err = verifier.communicate(timeout=120)
    finally:
        verifier.kill()
    assert verifier.returncode == 130, out + err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert re.search(r"^conv2d\.matches_reference +passed", out, re.M), out
    (interrupted,) = re.findall(r"^(\S+) +interrupted$", out, re.M)
    assert re.search(r"^INTERRUPTED: cnnref: 1 passed, .*, 4 not run \(interrupted\)", out, re.M)
    report = json.loads((tmp_path / "r.json").read_text())
    assert [p["name"] for p in report["properties"]] == ["conv2d.matches_reference"]
    assert report["interrupted"] == [interrupted] and interrupted in report["not_run"]
    assert "interrupted" in (tmp_path / "r.html").read_text()


def test_failures_of_one_function_in_one_way_are_explained_once() -> None:
    result = verify(SCALED_DW, examples=10, seed=0, properties=NUMERIC_BACKWARD)
    failed = [p.name for p in result.failures]
    assert failed == NUMERIC_BACKWARD, failed
    text = result.explain()
    assert text.count("smallest failing example:") == 1, text
    first, *others = failed
    assert text.startswith(f"FAILED {first}: ")
    for name in others:
        (line,) = [line for line in text.splitlines() if line.startswith(f"FAILED {name} ")]
        assert f"likely the same cause as {first} above" in line, line
        assert f"reproduce: cnnref verify --impl {SCALED_DW} --property {name} " in line, line


class Terminal(io.StringIO):
    """A stream that says it is a terminal; ``screen`` is what a terminal would show."""

    def isatty(self) -> bool:
        return True

    def screen(self) -> list[str]:
        lines, line, cursor = [], "", 0
        for token in re.split(r"(\r|\n|\033\[K)", self.getvalue()):
            if token == "\r":
                cursor = 0
            elif token == "\n":
                lines.append(line)
                line = ""
            elif token == "\033[K":
                line = line[:cursor]
            elif token:
                line = line[:cursor] + token + line[cursor + len(token) :]
                cursor += len(token)
        return [*lines, line] if line else lines


def fake_result(prop) -> PropertyResult:
    return PropertyResult(
        prop.name, prop.function, prop.summary, prop.formula, Status.PASSED, examples=5
    )


def test_on_a_terminal_progress_is_one_live_line_that_leaves_nothing() -> None:
    properties = select_properties(["conv2d"])
    stream = Terminal()
    progress = ProgressPrinter(stream, total=len(properties))
    progress.start(properties[0])
    progress.example(properties[0], 7)
    assert stream.screen() == [f"[{'-' * 24}] 0/{len(properties)} {properties[0].name} 7 examples"]
    progress.finish(fake_result(properties[0]))
    progress.start(properties[1])
    (line,) = stream.screen()
    assert line.startswith(f"[{'#' * (24 // len(properties))}-") and f"1/{len(properties)}" in line
    for prop in properties[1:]:
        progress.finish(fake_result(prop))
    progress.close()
    assert stream.screen() == [], "the table that follows stands alone"


def test_in_a_log_progress_is_a_line_per_property() -> None:
    properties = select_properties(["conv2d"])
    stream = io.StringIO()
    progress = ProgressPrinter(stream, total=len(properties))
    for prop in properties:
        progress.start(prop)
        progress.example(prop, 3)
        progress.finish(fake_result(prop))
    progress.close()
    lines = stream.getvalue().splitlines()
    assert [line.split()[0] for line in lines] == [p.name for p in properties]
    assert "\r" not in stream.getvalue() and "\033" not in stream.getvalue()


def test_a_wrong_signature_is_one_line_at_load_time(tmp_path: Path) -> None:
    (tmp_path / "twoargs.py").write_text("def conv2d(x, w):\n    return x\n")
    run = cnnref("verify", "--impl", "twoargs", cwd=tmp_path)
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout == "", "no property ran"
    (line,) = run.stderr.splitlines()
    assert line == (
        "cnnref verify: error: 'twoargs': conv2d(x, w) cannot take cnnref's calls, "
        "conv2d(x, w, b, stride=..., padding=..., dilation=..., groups=...): "
        "too many positional arguments"
    ), line


def test_a_wrong_signature_in_this_process_is_the_same_load_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "nostride.py").write_text("def max_pool2d(x, kernel_size):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(CandidateLoadError, match=r"max_pool2d\(x, kernel_size\) cannot take"):
        verify("nostride", isolate=False)


def test_args_and_kwargs_candidates_still_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "forwarding.py").write_text(
        "import cnnref\n\ndef max_pool2d(*args, **kwargs):\n"
        "    return cnnref.max_pool2d(*args, **kwargs)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    result = verify("forwarding", properties=["max_pool2d.matches_reference"], examples=3, seed=0)
    assert result.passed, result.explain()


@pytest.mark.parametrize("op", list(OPS))
def test_the_load_time_check_expects_the_keywords_properties_pass(op: str) -> None:
    """expected_calls reads the reference's signature; the calls come from each op's cases."""
    (prop,) = [p for p in select_properties([op]) if p.name.endswith(".matches_reference")]
    case = find(prop.cases(None, frozenset(), "partial"), lambda case: True)
    calls = expected_calls([op, f"{op}_backward"])
    assert calls[op]["keywords"] == list(case.geometry)
    assert calls[f"{op}_backward"]["keywords"] == list(case.geometry)
    assert calls[f"{op}_backward"]["operands"][0] == "dy"
