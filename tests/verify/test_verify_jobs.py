"""``verify(jobs=N)`` / ``cnnref verify -j N``: properties in N workers, results as a serial run's."""

from __future__ import annotations

import json
import os

import pytest

from cnnref.options import default_jobs
from cnnref.report import report_dict
from cnnref.verify import verify
from tests.support.cli import fresh

pytestmark = pytest.mark.slow  # whole runs with worker processes, serial and parallel

TIMINGS = {"created", "duration_seconds", "seconds", "time"}


def without_timings(value):
    """A report with every wall-clock figure left out: what must not depend on the jobs."""
    if isinstance(value, dict):
        return {key: without_timings(item) for key, item in value.items() if key not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(item) for item in value]
    return value


def report(candidate: str, jobs: int, **options) -> dict:
    result = verify(candidate, seed=3, examples=8, jobs=jobs, **options)
    return without_timings(json.loads(json.dumps(report_dict(result))))


def test_two_jobs_give_the_serial_runs_report_for_a_correct_candidate() -> None:
    serial = report("cnnref", 1, ops=["pool"])
    parallel = report("cnnref", 2, ops=["pool"])
    assert [p["name"] for p in parallel["properties"]] == [p["name"] for p in serial["properties"]]
    assert parallel == serial
    assert serial["passed"] is True and len(serial["properties"]) == 8


def test_two_jobs_give_the_serial_runs_failures_and_reproduction_lines() -> None:
    options = {"ops": ["pool"]}
    serial = report("tests.candidates.catalogue:ties_last", 1, **options)
    parallel = report("tests.candidates.catalogue:ties_last", 2, **options)
    assert serial["passed"] is False
    failed = [p for p in serial["properties"] if p["failure"]]
    assert failed and all("--seed 3" in p["failure"]["reproduce"]["command"] for p in failed)
    assert parallel == serial


def test_exitfirst_keeps_what_a_serial_run_keeps_up_to_the_first_failure() -> None:
    options = {"ops": ["pool"], "exitfirst": True}
    serial = report("tests.candidates.catalogue:ties_last", 1, **options)
    parallel = report("tests.candidates.catalogue:ties_last", 2, **options)
    assert serial["not_run"], "the run stopped early: properties were left out"
    assert serial["properties"][-1]["status"] == "failed"
    assert parallel == serial


def test_a_hung_function_is_not_called_again_by_later_properties_serial_or_not() -> None:
    options = {"ops": ["conv"], "timeout": 1.0}
    serial = report("tests.candidates.catalogue:hangs", 1, **options)
    statuses = {p["name"]: p["status"] for p in serial["properties"]}
    assert statuses["conv2d.matches_reference"] == "failed", statuses
    spared = [p for p in serial["properties"] if p["status"] == "not covered"]
    assert spared, statuses
    for prop in spared:
        (reason,) = prop["not_covered"]
        assert reason.startswith("not checked: conv2d hung on an earlier example")
        assert "conv2d.matches_reference: ConvCase(" in reason
    # conv2d_backward's own properties that never call conv2d still give a verdict; its
    # contract, which interleaves conv2d calls, is spared with the rest.
    assert statuses["conv2d_backward.matches_reference"] == "passed"
    assert statuses["conv2d_backward.contract"] == "not covered"
    assert [p["name"] for p in serial["properties"] if p["status"] == "failed"] == [
        "conv2d.matches_reference"
    ]
    assert report("tests.candidates.catalogue:hangs", 2, **options) == serial


def test_a_candidate_that_cannot_load_is_a_load_error_with_jobs() -> None:
    from cnnref.verify import CandidateLoadError

    with pytest.raises(CandidateLoadError, match="no_such_module"):
        verify("no_such_module", ops=["pool"], examples=2, jobs=2)


def test_jobs_default_to_the_free_cores_and_one_inside_an_xdist_worker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw3")
    assert default_jobs() == 1
    monkeypatch.delenv("PYTEST_XDIST_WORKER")
    cores = len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, "getloadavg", lambda: (0.4, 0.0, 0.0))
    assert default_jobs() == cores, "an idle machine: every core"
    monkeypatch.setattr(os, "getloadavg", lambda: (cores + 3.0, 0.0, 0.0))
    assert default_jobs() == 1, "every core busy: one worker"


def test_the_cli_takes_j_and_refuses_zero() -> None:
    command = ["verify", "--ops", "pool", "--examples", "3"]
    run = fresh(*command, "--seed", "1", "-j", "2")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASSED: cnnref: 8 passed" in run.stdout
    refused = fresh(*command, "-j", "0")
    assert refused.returncode == 2 and "-j/--jobs: must be > 0" in refused.stderr
