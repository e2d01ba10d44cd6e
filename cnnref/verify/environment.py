"""The software a verification ran on, for reports: results depend on it."""

from __future__ import annotations

import importlib.metadata
import os
import platform

import numpy as np


def environment() -> dict[str, str | int | None]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cnnref": _version("cnnref"),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "hypothesis": _version("hypothesis"),
        "torch": _version("torch"),
        "blas": _blas(),
    }


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _blas() -> str | None:
    """NumPy's BLAS library and version, as numpy.show_config reports it."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # the layout of show_config differs between NumPy versions
        return None
    return f"{blas.get('name')} {blas.get('version')}".strip()
