"""Where a property's time goes: the candidate, the round trips, the checks, Hypothesis."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnref.report import report_dict
from cnnref.verify import verify

ROOT = Path(__file__).resolve().parents[2]
SLOW = """
import time
from cnnref import max_pool2d as _max_pool2d

def max_pool2d(*args, **kwargs):
    time.sleep(0.02)
    return _max_pool2d(*args, **kwargs)
"""
PARTS = {"candidate", "round_trips", "checks", "hypothesis"}


@pytest.mark.parametrize("isolate", [True, False])
def test_a_slow_candidates_time_is_counted_as_the_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolate: bool
) -> None:
    (tmp_path / "slow_layers.py").write_text(SLOW)
    monkeypatch.syspath_prepend(str(tmp_path))
    result = verify(
        "slow_layers",
        properties=["max_pool2d.matches_reference"],
        examples=5,
        seed=1,
        jobs=1,
        isolate=isolate,
    )
    (prop,) = result.properties
    assert prop.passed and set(prop.time_split) == PARTS
    assert all(seconds >= 0 for seconds in prop.time_split.values()), prop.time_split
    assert prop.time_split["candidate"] >= 0.02 * prop.examples, prop.time_split
    assert sum(prop.time_split.values()) == pytest.approx(prop.seconds)
    if not isolate:
        assert prop.time_split["round_trips"] == 0, "no process: no round trips"
    reported = report_dict(result)["properties"][0]["time"]
    assert set(reported) == PARTS
    assert reported["candidate"] == round(prop.time_split["candidate"], 3)
