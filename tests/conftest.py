"""Shared fixtures. Under CI=true a missing tool or data set fails a test instead of skipping it."""

from __future__ import annotations

import os

import pytest

from cnnref.oracles.torch_autograd import torch_available

IN_CI = os.environ.get("CI", "").lower() == "true"


def require(available: bool, what: str) -> None:
    """Skip locally, fail in CI, when ``what`` is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI (CI=true) but is missing")
    pytest.skip(f"{what} is not available")


@pytest.fixture
def torch_required() -> None:
    require(torch_available(), "torch (pip install -e '.[test]')")


pytest_plugins = ["pytester"]
