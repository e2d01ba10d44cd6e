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


@pytest.fixture(scope="session")
def _extensions_imported() -> None:
    """The compiled modules a verification and its reports load, imported before any
    ``pytester`` is made (session fixtures come first): pytester takes out of ``sys.modules``
    what a test imported after it was made, and such a module cannot be loaded twice."""
    import scipy.signal  # noqa: F401

    import cnnref.report.html_report  # noqa: F401  (jinja2's markupsafe)

    if torch_available():
        import torch  # noqa: F401


@pytest.fixture
def pytester_in_process(_extensions_imported: None, pytester: pytest.Pytester) -> pytest.Pytester:
    """``pytester``, for sessions run in this process (``runpytest_inprocess``)."""
    return pytester


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The ``slow`` tests first, so that the many short tests fill the workers' ends: xdist
    hands tests out in this order, two at a time (``--maxschedchunk 2`` in pyproject.toml;
    its default hands each worker a quarter of its share at once, and the worker given the
    first quarter, mostly slow tests, runs alone for half a minute at the end)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
