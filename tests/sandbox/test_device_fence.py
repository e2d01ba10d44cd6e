"""--device: the GPU's device nodes open for a candidate that asks, and for no other.

The tests that open real device nodes need an NVIDIA GPU and skip without one,
under CI too (CI has no GPU).  The rest check what is asked for anywhere.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnref.sandbox.process import Limits
from cnnref.sandbox.reach import DEVICE_NODES, device_paths, environment

ROOT = Path(__file__).resolve().parents[2]
HAS_NVIDIA = os.path.exists("/dev/nvidiactl")


def probe(tmp_path: Path, *extra: str) -> dict:
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "cnnref", "verify", "--impl", "tests.candidates.device_probe"]
    command += ["--property", "conv2d.matches_reference", "--examples", "1", "--seed", "0"]
    subprocess.run(
        [*command, "--json", str(report), *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    explanation = json.loads(report.read_text())["properties"][0]["failure"]["explanation"]
    return json.loads(explanation.partition("probed ")[2].splitlines()[0])


@pytest.mark.skipif(not HAS_NVIDIA, reason="needs an NVIDIA GPU (/dev/nvidiactl); CI has none")
def test_device_cuda_opens_the_nvidia_nodes_and_the_driver_starts(tmp_path: Path) -> None:
    found = probe(tmp_path, "--device", "cuda")
    nodes = {node: outcome for node, outcome in found.items() if node.startswith("/dev/")}
    assert nodes and set(nodes.values()) == {"opened"}, found
    assert found["cuInit"] == 0, found


@pytest.mark.skipif(not HAS_NVIDIA, reason="needs an NVIDIA GPU (/dev/nvidiactl); CI has none")
def test_without_device_the_nvidia_nodes_stay_shut(tmp_path: Path) -> None:
    found = probe(tmp_path)
    nodes = {node: outcome for node, outcome in found.items() if node.startswith("/dev/")}
    assert nodes and "opened" not in nodes.values(), found
    assert found["cuInit"] != 0, found


def test_each_device_asks_for_its_own_nodes_only() -> None:
    assert device_paths("cpu") == ([], [])
    nodes, _ = device_paths("cuda")
    assert nodes == sorted(
        {path for pattern in DEVICE_NODES["cuda"] for path in glob.glob(pattern)}
    )
    assert all(node.startswith("/dev/nvidia") for node in nodes)
    rocm, _ = device_paths("rocm")
    assert all(node in ("/dev/kfd", "/dev/dri") for node in rocm)


def test_an_unknown_device_is_refused_naming_the_choices() -> None:
    with pytest.raises(ValueError, match="device must be one of cpu, cuda, rocm; got 'tpu'"):
        Limits(device="tpu")


def test_the_devices_variables_pass_only_for_that_device(monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    assert "CUDA_VISIBLE_DEVICES" in environment("/w", (), "cuda", "/p")
    chosen = environment("/w", (), "cpu", "/p")
    assert "CUDA_VISIBLE_DEVICES" not in chosen and "AWS_SECRET_ACCESS_KEY" not in chosen
    assert chosen["HOME"] == chosen["TMPDIR"] == "/w"
