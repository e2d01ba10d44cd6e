"""cnnref installed from a wheel into another project, with no checkout of this repository in sight."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

from tests.support.once import once_per_run

ROOT = Path(__file__).resolve().parents[1]
# One wheel and one virtual environment for the run (``installed``).
pytestmark = pytest.mark.slow  # builds and installs a wheel

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


# What the wheel is built from: a private copy of these, so that the build's own folders
# (build/, *.egg-info) are never the checkout's, which another run may be building in.
WHEEL_SOURCES = ("pyproject.toml", "README.md", "LICENSE", "cnnref")


def run_or_fail(command: list, what: str) -> None:
    """Run ``command``; on failure, fail the test with its output (pip says why on stderr)."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {done.returncode}): {' '.join(map(str, command))}\n"
            f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}",
            pytrace=False,
        )


def build_and_install(work: Path) -> Path:
    """Build cnnref's wheel from a copy of the sources and install it into a new venv there."""
    source = work / "source"
    for name in WHEEL_SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    wheel_dir = work / "dist"
    run_or_fail(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(source),
        ],
        "building the wheel",
    )
    (wheel,) = wheel_dir.glob("cnnref-*.whl")
    environment = work / "venv"
    venv.EnvBuilder(with_pip=True).create(environment)
    python = environment / "bin" / "python"
    # The dependencies come from this interpreter: its site-packages go on the new one's path
    # after its own (a .pth line adds the folder; the .pth files there, an editable cnnref's
    # among them, are not read).
    own = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(own, "dependencies_of_the_test_run.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    run_or_fail(
        [python, "-m", "pip", "install", "--no-deps", "-q", str(wheel)], "installing the wheel"
    )
    return environment


@pytest.fixture(scope="session")
def installed(request: pytest.FixtureRequest) -> Path:
    """A virtual environment with cnnref's wheel installed (its dependencies come from this
    interpreter), made once per test run whichever xdist workers run these tests."""
    return once_per_run(request, "wheel", build_and_install) / "venv"


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
    assert "smallest failing example:\n    MaxPoolCase(batch=2," in result.stdout
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
    (wheel,) = (installed.parent / "dist").glob("cnnref-*.whl")
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
