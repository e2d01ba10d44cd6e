"""Submissions that snoop on the grader: each attempt is held, and the report says which fences held.

Each candidate (tests/candidates/snoop_*.py) is set out as a grader would
find it: a package among other submissions, beside the instructor's solution,
run by ``cnnref verify`` from the grader's folder with a secret in the
environment, a credentials file in HOME, a TCP port and a UNIX socket
listening.  Its ``conv2d`` raises with what each attempt got ("held: ..." or
"LEAKED: ..."), so the report carries the findings.  The contrast tests open
one fence each (``--pass-env``, ``--allow-read``, ``--allow-network``) and see
the same attempt succeed: the fence held it, not the candidate's code.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from cnnref.sandbox.confine import landlock_abi
from tests.conftest import require

pytestmark = pytest.mark.slow  # each attack is a fenced candidate process

ROOT = Path(__file__).resolve().parents[2]
CANDIDATES = ROOT / "tests" / "candidates"
SECRET = "token-" + uuid.uuid4().hex


@pytest.fixture
def fenced() -> None:
    require(landlock_abi() >= 6, "Landlock ABI 6 (Linux 6.12 or newer): the kernel lacks it")


@pytest.fixture
def grader(tmp_path: Path):
    """The grader's folder, home, secrets and listening sockets; yields a function that
    runs one snooping candidate and returns (run, report, findings)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine example.com password {SECRET}\n")
    folder = tmp_path / "grader"
    (folder / "solution").mkdir(parents=True)
    (folder / "solution" / "solution.py").write_text(f"ANSWER = {SECRET!r}\n")
    (folder / "submissions" / "other").mkdir(parents=True)
    (folder / "submissions" / "other" / "__init__.py").write_text(f"MINE = {SECRET!r}\n")
    tcp = socket.create_server(("127.0.0.1", 0))
    tcp.settimeout(0)
    unix_path = str(tmp_path / "grader.sock")
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(unix_path)
    unix.listen()
    unix.settimeout(0)
    tag = uuid.uuid4().hex
    targets = {
        "home": str(home),
        "grader": str(folder),
        "solution": str(folder / "solution" / "solution.py"),
        "other_submission": str(folder / "submissions" / "other" / "__init__.py"),
        "verifier_pid": os.getpid(),
        "tcp_port": tcp.getsockname()[1],
        "unix_socket": unix_path,
        "tag": tag,
    }

    def run(name: str, *extra: str):
        package = folder / "submissions" / "snooper"
        shutil.rmtree(package, ignore_errors=True)
        package.mkdir()
        shutil.copy(CANDIDATES / f"{name}.py", package / "__init__.py")
        shutil.copy(CANDIDATES / "snoop_common.py", package / "_common.py")
        (package / "targets.json").write_text(json.dumps(targets))
        report = tmp_path / f"{name}.json"
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(home),
            "PYTHONPATH": str(ROOT),
            "CNNREF_SNOOP_SECRET": SECRET,
        }
        command = [sys.executable, "-m", "cnnref", "verify", "--impl", "snooper", "--seed", "0"]
        command += ["--property", "conv2d.matches_reference", "--examples", "3"]
        completed = subprocess.run(
            [*command, "--json", str(report), *extra],
            cwd=folder / "submissions",
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert "Traceback" not in completed.stderr, completed.stderr
        verdict = json.loads(report.read_text())
        (prop,) = verdict["properties"]
        explanation = prop["failure"]["explanation"]
        _, said, findings = explanation.partition("snooped ")
        found = json.loads(findings.splitlines()[0]) if said else {}
        return completed, verdict, found

    yield run, targets, tcp, unix
    tcp.close()
    unix.close()
    for leftover in (f"/dev/shm/cnnref-snoop-{tag}", f"/tmp/cnnref-snoop-{tag}"):
        Path(leftover).unlink(missing_ok=True)


CATALOGUE = {
    "snoop_environment": ["environment variable", "grader's HOME"],
    "snoop_home": ["home file", "home listing"],
    "snoop_neighbours": ["solution", "other submission", "grader's folder"],
    "snoop_proc": ["other process's environ", "other process's cmdline", "process list"],
    "snoop_network": ["tcp", "udp", "unix socket"],
    "snoop_leftovers": ["/dev/shm file", "/tmp file", "shared memory"],
}


@pytest.mark.usefixtures("fenced")
@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_each_snooping_attempt_is_held_and_the_report_lists_the_fences(grader, name) -> None:
    run, targets, tcp, unix = grader
    completed, report, found = run(name)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert sorted(found) == sorted(CATALOGUE[name]), found
    for attempt, outcome in found.items():
        assert outcome.startswith("held: "), f"{name}: {attempt} {outcome}"
    fences = " ".join(report["settings"]["fences"])
    for words in ("reads only", "clean environment", "no new sockets", "no /dev/shm"):
        assert words in fences, fences
    assert SECRET not in json.dumps(report)
    with pytest.raises(BlockingIOError):  # nobody connected
        tcp.accept()
    with pytest.raises(BlockingIOError):
        unix.accept()
    tag = targets["tag"]
    assert not [entry for entry in os.listdir("/dev/shm") if tag in entry]
    assert not [entry for entry in os.listdir("/tmp") if tag in entry]


@pytest.mark.usefixtures("fenced")
@pytest.mark.parametrize(
    ("name", "attempt", "option"),
    [
        ("snoop_environment", "environment variable", ["--pass-env", "CNNREF_SNOOP_SECRET"]),
        ("snoop_home", "home file", ["--allow-read", "{home}"]),
        ("snoop_network", "tcp", ["--allow-network"]),
    ],
)
def test_opening_one_fence_lets_that_attempt_through(grader, name, attempt, option) -> None:
    """The contrast: the fence held the attempt above, not something in the candidate."""
    run, targets, *_ = grader
    _, _, found = run(name, *(word.format(**targets) for word in option))
    assert found[attempt].startswith("LEAKED"), found


@pytest.mark.usefixtures("fenced")
def test_a_forged_ready_frame_cannot_change_the_fences_reported(grader) -> None:
    run, *_ = grader
    completed, report, _ = run("snoop_forged_ready")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert report["properties"][0]["failure"]["kind"] == "unreadable", report["properties"]
    fences = report["settings"]["fences"]
    assert not any(fence.startswith("forged") for fence in fences), fences
    assert any("(seccomp)" in fence for fence in fences), fences


def test_the_kernels_fences_are_confirmed_or_reported_missing(tmp_path: Path) -> None:
    """Every fence the verifier asked for is either listed (confirmed before the candidate
    ran) or named as not up, with the reason; never both, never neither."""
    from cnnref.verify import verify

    result = verify(properties=["conv2d.matches_reference"], examples=2, seed=0)
    fences, missing = result.settings["fences"], result.settings["fences_not_up"]
    assert any("(seccomp)" in fence for fence in fences) != any("sockets" in m for m in missing)
    assert any("reads only" in fence for fence in fences) != any("not fenced" in m for m in missing)
