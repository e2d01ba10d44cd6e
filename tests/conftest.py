"""Shared fixtures. Under CI=true a missing tool or data set fails a test instead of skipping it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cnnref.oracles.torch_autograd import torch_available

IN_CI = os.environ.get("CI", "").lower() == "true"

# One thread each for BLAS and torch in every process the suite starts: `-n auto` already runs
# one xdist worker per core, and each test's verifier and candidate processes take turns, so
# more threads only spin against each other (a whole run: 514 s of CPU with the libraries'
# defaults, 344 s with one thread).  Set here, in the process that starts the workers, before
# any of them loads NumPy; a value the user set is kept.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")


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


@pytest.fixture
def mnist_dir() -> Path:
    """The real MNIST digits: ``$CNNREF_MNIST_DIR``, else ``<repo>/../shared/data/mnist``."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
    directory = Path(os.environ.get("CNNREF_MNIST_DIR") or default)
    require((directory / "t10k-images-idx3-ubyte.gz").is_file(), f"MNIST digits in {directory}")
    return directory


pytest_plugins = ["pytester"]


# Groups of tests that share one slow fixture and so stay on one xdist worker, in a row.
SERIAL_GROUPS = ("wheel", "report", "vectors")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest work first, so that the many short tests fill the workers' ends: the serial
    groups (the wheel's is about 30 s in a row), then the other ``slow`` tests, then the rest.
    xdist hands tests out in this order; collected in place, a slow test could leave one worker
    running it alone at the end of the run."""

    def serial(item: pytest.Item) -> bool:
        marker = item.get_closest_marker("xdist_group")
        return marker is not None and marker.args[0] in SERIAL_GROUPS

    def slow(item: pytest.Item) -> bool:
        return item.get_closest_marker("slow") is not None

    items.sort(key=lambda item: (not serial(item), not slow(item)))
