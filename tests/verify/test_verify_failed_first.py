"""``--ff`` / ``--lf``: the properties that failed last time first, or alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnref.verify import select_properties, verify
from cnnref.verify.last_failed import record_path
from tests.support.cli import cnnref

pytestmark = pytest.mark.slow  # whole runs, twice each, through the API, the CLI and the plugin

ROOT = Path(__file__).resolve().parents[2]
BUGGY = "from tests.candidates.catalogue import ties_last as chosen\n"
FIXED = "from tests.candidates.catalogue import correct as chosen\n"
EXPOSE = "globals().update({k: v for k, v in vars(chosen).items() if not k.startswith('_')})\n"


@pytest.fixture
def layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A candidate module the test can break and fix, run from a scratch directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.syspath_prepend(str(tmp_path))
    # The module imports tests.candidates: on the PYTHONPATH, so the read fence lets it load.
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    module = tmp_path / "layers.py"
    module.write_text(BUGGY + EXPOSE)
    return module


def names(result) -> list[str]:
    return [p.name for p in result.properties]


def test_failed_first_runs_last_times_failures_first_and_last_failed_only_them(
    layers: Path,
) -> None:
    first = verify("layers", ops=["pool"], examples=10, seed=2, jobs=1)
    failed = [p.name for p in first.failures]
    assert failed and len(failed) < len(first.properties)
    stored = json.loads(record_path(Path(".hypothesis/cnnref"), "layers").read_text())
    assert stored["failed"] == failed

    again = verify("layers", ops=["pool"], examples=10, seed=2, jobs=1, failed_first=True)
    assert names(again)[: len(failed)] == failed
    assert sorted(names(again)) == sorted(names(first))

    only = verify("layers", ops=["pool"], examples=10, seed=2, jobs=1, last_failed=True)
    assert names(only) == failed and not only.passed

    layers.write_text(FIXED + EXPOSE)  # the bug fixed: --lf confirms it, then runs everything
    confirmed = verify("layers", ops=["pool"], examples=10, seed=2, jobs=1, last_failed=True)
    assert names(confirmed) == failed and confirmed.passed
    everything = verify("layers", ops=["pool"], examples=3, seed=2, jobs=1, last_failed=True)
    assert names(everything) == [p.name for p in select_properties(["pool"])]


def test_the_cli_takes_ff_and_lf(layers: Path) -> None:
    run = ["verify", "--impl", "layers", "--ops", "pool", "--examples", "10", "--seed", "2"]
    cnnref(*run, "-j", "1", cwd=layers.parent)
    only = cnnref(*run, "-j", "1", "--lf", cwd=layers.parent)
    assert only.returncode == 1, only.stdout + only.stderr
    summary = only.stdout.splitlines()
    assert any("FAILED: layers: 0 passed" in line for line in summary), only.stdout


def test_the_plugin_items_follow_pytests_own_lf(
    pytester_in_process: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester_in_process.makeini(
        "[pytest]\ncnnref_impl = tests.candidates.catalogue:ties_last\n"
        "cnnref_examples = 10\ncnnref_seed = 2\n"
    )
    first = pytester_in_process.runpytest_inprocess("-k", "max_pool2d")
    outcomes = first.parseoutcomes()
    assert outcomes.get("failed") and outcomes.get("passed"), outcomes
    again = pytester_in_process.runpytest_inprocess("-k", "max_pool2d", "--lf")
    assert again.parseoutcomes().get("failed") == outcomes["failed"]
    assert "passed" not in again.parseoutcomes(), again.parseoutcomes()
