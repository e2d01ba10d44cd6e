"""The verdict is out of the candidate's reach: forging candidates end with exit 1 and an honest report.

Each forger (tests/candidates/forgers/) has a wrong conv2d and attacks the
verifier as well.  Every run must exit 1, its JSON report must say failed,
no code may run in the verifier, and no process of the candidate may outlive
the run.  The attacks leave files in a watched directory when they succeed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnref.sandbox.confine import landlock_abi
from tests.conftest import require

pytestmark = pytest.mark.slow  # a whole verification per forging candidate

ROOT = Path(__file__).resolve().parents[2]
FORGERS = "tests.candidates.forgers"


def verify_cli(
    target: str, tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess, dict]:
    """``cnnref verify`` on one forger, as a user runs it; the run and its JSON report."""
    watched = tmp_path / "watched"
    watched.mkdir(exist_ok=True)
    report = tmp_path / "report.json"
    environment = os.environ | {"PYTHONPATH": str(ROOT), "CNNREF_FORGER_DIR": str(watched)}
    command = [sys.executable, "-m", "cnnref", "verify", "--impl", f"{FORGERS}.{target}"]
    command += ["--property", "conv2d.matches_reference", "--examples", "5", "--seed", "0"]
    command += ["--pass-env", "CNNREF_FORGER_DIR"]  # the attacks' evidence goes there
    run = subprocess.run(
        [*command, "--json", str(report), *extra],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return run, json.loads(report.read_text())


def processes_tagged(tag: str) -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if tag.encode() in cmdline.split(b"\0"):
            found.append(int(entry))
    return found


def require_honest_failure(run: subprocess.CompletedProcess, report: dict, tmp_path: Path) -> dict:
    assert run.returncode == 1, run.stdout + run.stderr
    assert "FAILED: " in run.stdout and "Traceback" not in run.stderr, run.stdout + run.stderr
    assert report["passed"] is False
    (prop,) = report["properties"]
    assert prop["status"] == "failed", prop
    assert list((tmp_path / "watched").iterdir()) == [], "an attack left evidence of success"
    return prop["failure"]


@pytest.fixture
def fenced() -> None:
    """The kernel fences these attacks need (Landlock with signal scoping, Linux 6.12+)."""
    require(landlock_abi() >= 6, "Landlock ABI 6 (Linux 6.12 or newer)")


@pytest.mark.parametrize(
    ("forger", "kind", "words"),
    [
        ("patch_cnnref", "falsified", "y: "),
        ("patch_numpy", "falsified", "y: "),
        ("reads_frames", "falsified", "y: "),
        ("pickle_pipe", "unreadable", "cannot read"),
        ("forged_reply", "unreadable", "cannot read"),
        ("huge_frame", "unreadable", "more than the"),
    ],
)
def test_a_forger_in_its_own_process_cannot_reach_the_verdict(
    forger: str, kind: str, words: str, tmp_path: Path
) -> None:
    run, report = verify_cli(forger, tmp_path)
    failure = require_honest_failure(run, report, tmp_path)
    assert failure["kind"] == kind and words in failure["explanation"], failure


def test_the_candidates_process_holds_nothing_of_cnnrefs_judgement(tmp_path: Path) -> None:
    """Only NumPy and the candidate: no reference, properties, SciPy, torch or Hypothesis."""
    run, report = verify_cli("lists_modules", tmp_path)
    failure = require_honest_failure(run, report, tmp_path)
    assert "conv2d raised RuntimeError: loaded: []" in failure["explanation"], failure


def test_a_forged_load_reply_is_a_load_error_not_a_crash_of_the_verifier() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "cnnref", "verify", "--impl", f"{FORGERS}.forged_ready"],
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "failed: an unexpected reply" in run.stderr and "Traceback" not in run.stderr


@pytest.mark.usefixtures("fenced")
@pytest.mark.parametrize("attack", ["kill", "stop"])
def test_a_forger_cannot_signal_the_verifier(attack: str, tmp_path: Path) -> None:
    run, report = verify_cli(f"signals_parent:{attack}", tmp_path)
    failure = require_honest_failure(run, report, tmp_path)
    assert failure["kind"] == "falsified", failure


@pytest.mark.usefixtures("fenced")
def test_a_forger_cannot_write_outside_its_working_directory(tmp_path: Path) -> None:
    run, report = verify_cli("writes_outside", tmp_path)
    failure = require_honest_failure(run, report, tmp_path)
    assert failure["kind"] == "raised" and "PermissionError" in failure["explanation"], failure
    assert "written-outside" in failure["explanation"], "the error names the refused path"


@pytest.mark.usefixtures("fenced")
def test_a_daemon_left_behind_is_ended_with_the_run_and_cannot_rewrite_the_report(
    tmp_path: Path,
) -> None:
    from tests.candidates.forgers.lingers import TAG

    run, report = verify_cli("lingers", tmp_path)
    require_honest_failure(run, report, tmp_path)
    time.sleep(1.0)  # the daemon would rewrite the report within 0.1 s of the verifier's exit
    assert json.loads((tmp_path / "report.json").read_text())["passed"] is False
    assert processes_tagged(TAG) == []


def test_processes_the_candidate_started_end_with_the_run(tmp_path: Path) -> None:
    from tests.candidates.forgers.forks import TAG

    run, report = verify_cli("forks", tmp_path)
    require_honest_failure(run, report, tmp_path)
    assert processes_tagged(TAG) == []


def test_a_candidate_that_exhausts_memory_meets_the_memory_limit(tmp_path: Path) -> None:
    run, report = verify_cli("exhausts_memory", tmp_path, "--memory", "1G")
    failure = require_honest_failure(run, report, tmp_path)
    assert failure["kind"] in ("raised", "crashed"), failure
    assert "MemoryError" in failure["explanation"] or "killed" in failure["explanation"], failure
    assert report["settings"]["memory"] == 1 << 30


def test_forbid_refuses_an_import_the_candidate_makes(tmp_path: Path) -> None:
    run, report = verify_cli("imports_torch", tmp_path, "--forbid", "torch,jax")
    failure = require_honest_failure(run, report, tmp_path)
    assert failure["kind"] == "raised", failure
    assert (
        "importing 'torch' is forbidden in this verification (--forbid torch)"
        in (failure["explanation"])
    )
    assert report["settings"]["forbid"] == ["torch", "jax"]


@pytest.mark.usefixtures("torch_required")
def test_without_the_fence_the_same_candidate_passes(tmp_path: Path) -> None:
    """The contrast to the test above: the fence, not the candidate's arithmetic, failed it."""
    run, report = verify_cli("imports_torch", tmp_path)
    assert run.returncode == 0 and report["passed"] is True, run.stdout + run.stderr


def test_isolated_and_in_process_agree_on_a_script_beside_its_module(tmp_path: Path) -> None:
    """A module found through "" on sys.path (the script's directory), returning a namedtuple:
    the candidate's process finds it too, although it works in a directory of its own."""
    (tmp_path / "mine.py").write_text(
        "from collections import namedtuple\n"
        "import cnnref\n"
        "Grads = namedtuple('Grads', 'dx dw db')\n"
        "def conv2d_backward(*args, **kwargs):\n"
        "    return Grads(*cnnref.conv2d_backward(*args, **kwargs))\n"
    )
    script = (
        "from cnnref.verify import verify\n"
        "for isolate in (False, True):\n"
        "    result = verify('mine', properties=['conv2d_backward.matches_reference'],\n"
        "                    examples=5, seed=0, isolate=isolate)\n"
        "    print(isolate, result.passed, result.explain())\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[:2] == ["False True ", "True True "], run.stdout


def test_the_report_states_the_fences_that_were_up(tmp_path: Path) -> None:
    _, report = verify_cli("pickle_pipe", tmp_path)
    fences = report["settings"]["fences"]
    assert any("own session" in fence for fence in fences), fences
    assert any("address space" in fence for fence in fences), fences
    if landlock_abi() >= 6:
        assert any("signals only" in fence for fence in fences), fences


def test_the_candidate_never_outlives_its_keeper() -> None:
    """Should the keeper die, the runner dies with it, and the next call is a crash verdict."""
    import numpy as np

    from cnnref.sandbox.process import CandidateCrashed, CandidateProcess

    process = CandidateProcess("cnnref", ("conv2d",)).start()
    try:
        os.kill(process._process.pid, signal.SIGKILL)
        process._process.wait()  # the keeper is gone: its runner has its SIGKILL now
        with pytest.raises(CandidateCrashed, match="died"):
            process.call("conv2d", (np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))), {})
    finally:
        process.close()
