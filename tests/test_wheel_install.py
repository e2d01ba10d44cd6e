"""cnnref installed from a wheel into another project, with no checkout of this repository in sight."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# One wheel and one virtual environment for the module: keep its tests on one xdist worker.
# slow: builds and installs a wheel
pytestmark = [pytest.mark.xdist_group("wheel"), pytest.mark.slow]

CANDIDATE = textwrap.dedent(
    """
    import numpy as np
    import cnnref

    def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        return cnnref.max_pool2d(x, kernel_size, stride, padding, dilation, ceil_mode)

    def max_pool2d_backward(dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        dx = cnnref.max_pool2d_backward(dy, x, kernel_size, stride, padding, dilation, ceil_mode)
        return dx * 2 if dy.shape[0] > 1 else dx  # a bug that needs batch > 1
    """
)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with cnnref's wheel installed (its dependencies come from this interpreter)."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = work.glob("cnnref-*.whl")
    environment = work / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=True).create(environment)
    python = environment / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return environment


def run(environment: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [str(environment / "bin" / args[0]), *args[1:]],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_wheel_is_what_gets_imported(installed: Path, tmp_path: Path) -> None:
    where = run(
        installed,
        "python",
        "-c",
        "import cnnref, cnnref.report; print(cnnref.__file__)",
        cwd=tmp_path,
    )
    assert where.returncode == 0, where.stderr
    assert where.stdout.startswith(str(installed)), (
        f"imported {where.stdout.strip()}, not the wheel"
    )


def test_cli_verifies_a_project_module(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "mylayers.py").write_text(CANDIDATE)
    result = run(
        installed,
        "cnnref",
        "verify",
        "--impl",
        "mylayers",
        "--examples",
        "30",
        "--seed",
        "0",
        "--report",
        "report.html",
        "--json",
        "report.json",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "no smaller example failed than batch=2" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert {p["status"] for p in report["properties"] if p["op"] == "conv2d"} == {"not covered"}
    assert "<svg" in (tmp_path / "report.html").read_text()


def test_pytest_plugin_and_api_work_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    (tmp_path / "mylayers.py").write_text(CANDIDATE)
    (tmp_path / "test_layers.py").write_text(
        "from cnnref.verify import assert_verified\n\n"
        "def test_forward_is_right():\n"
        "    assert_verified('mylayers', ops=['max_pool2d'], examples=10)\n"
    )
    result = run(
        installed,
        "python",
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-v",
        "--cnnref-impl",
        "mylayers",
        "--cnnref-examples",
        "20",
        "--cnnref-seed",
        "0",
        "--cnnref-report",
        "session.html",
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    # The user's own test passed beside the plugin's failing item.
    assert "test_layers.py::test_forward_is_right PASSED" in result.stdout, result.stdout
    assert "FAILED cnnref[mylayers]::max_pool2d_backward.matches_reference" in result.stdout, (
        result.stdout
    )
    assert (tmp_path / "session.html").exists()


def test_the_wheel_carries_its_licence_type_marker_and_torch_extra(installed: Path) -> None:
    (wheel,) = installed.parent.glob("cnnref-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(
            next(name for name in names if name.endswith(".dist-info/METADATA"))
        ).decode()
    assert "cnnref/py.typed" in names, "type checkers would see Any everywhere"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), names
    assert "Provides-Extra: torch" in metadata
    assert 'Requires-Dist: torch<2.14,>=2.4; extra == "torch"' in metadata, metadata
    assert "Classifier: Typing :: Typed" in metadata
