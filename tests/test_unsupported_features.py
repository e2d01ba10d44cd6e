"""A candidate may declare features it lacks: they are never drawn, and the result says so."""

from __future__ import annotations

import pytest

from cnnref.report import report_dict
from cnnref.verify import verify
from tests.support.cli import cnnref

pytestmark = pytest.mark.slow  # whole verifications with declared features


def test_declared_features_are_not_drawn_and_reported_as_not_covered() -> None:
    result = verify("tests.candidates.limited", examples=40)
    assert result.passed, result.explain()
    statuses = {p.name: p.status for p in result.properties}
    assert statuses["conv2d.matches_reference"] == "passed"
    assert statuses["conv2d_backward.matches_reference"] == "not covered", (
        "the module has no conv2d_backward"
    )
    checked = [p for p in result.properties if p.status == "passed"]
    # Each property lists the declared features its function has: groups is conv2d's only,
    # ceil_mode max_pool2d's only.
    own = {"conv2d": ("dilation", "groups"), "max_pool2d": ("ceil_mode", "dilation")}
    for prop in checked:
        # (beside them: half-precision examples an identity does not check, with the reason)
        assert [reason for reason in prop.not_covered if reason.startswith("not drawn")] == [
            f"not drawn (declared unsupported): {name}" for name in own[prop.function]
        ]
        assert set(prop.coverage["dilation"]) == {"(1, 1)"}
    report = report_dict(result)
    assert report["settings"]["unsupported"] == ["ceil_mode", "dilation", "groups"]


def test_an_unknown_feature_name_is_a_usage_error() -> None:
    run = cnnref("verify", "--impl", "tests.candidates.misdeclared")
    assert run.returncode == 2, run.stdout + run.stderr
    assert "unknown features ['grups']" in run.stderr
