"""Candidates in other languages: a default ``cnnref verify`` of the C and Rust example clients
(``--command``) next to a Python candidate (``--impl cnnref``), and the cost of one call.

    python benchmarks/bench_command.py [--repeat N] [--calls N]

Builds examples/c and examples/rust into build/ (and reports how long that took), then runs
each default verification N times, alternating, as fresh ``cnnref verify`` processes under
CI=true (derandomized, as a CI job runs them), and prints the median wall time.  The per-call
figures are medians of round trips through the candidate's process (``CandidateProcess``) on
a 1x1x4x4 input with a 2x2 kernel, after the process has started; "start" is the time from
starting the process to its ``ready``.  Measured, never asserted.  Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build"
sys.path.insert(0, str(ROOT))

from cnnref.sandbox.process import CandidateProcess  # noqa: E402
from cnnref.sandbox.target import Command  # noqa: E402


def timed(command: list[str], **options) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, **options)
    return time.perf_counter() - began


def build() -> tuple[dict[str, Path], dict[str, float]]:
    BUILD.mkdir(exist_ok=True)
    c_binary = BUILD / "conv_server_c"
    source = ROOT / "examples" / "c" / "conv_server.c"
    cargo = shutil.which("cargo") or str(Path.home() / ".cargo" / "bin" / "cargo")
    target = BUILD / "bench-rust"
    shutil.rmtree(target, ignore_errors=True)  # a build from scratch, as in a fresh CI job
    seconds = {
        "C (cc -O2)": timed(["cc", "-O2", "-std=c99", "-o", str(c_binary), str(source), "-lm"]),
        "Rust (cargo build --release)": timed(
            [cargo, "build", "--release", "--offline", "--quiet", "--target-dir", str(target)],
            cwd=ROOT / "examples" / "rust",
        ),
    }
    return {"C": c_binary, "Rust": target / "release" / "conv_server"}, seconds


def verify_seconds(candidate: list[str]) -> float:
    environment = os.environ | {"CI": "true", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "cnnref", "verify", *candidate]
    return timed(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL)


def per_call(process: CandidateProcess, calls: int) -> tuple[float, float]:
    """Median seconds to start (to ready), and per small conv2d call."""
    began = time.perf_counter()
    process.start()
    start = time.perf_counter() - began
    x, w = np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2))
    times = []
    for _ in range(calls):
        began = time.perf_counter()
        process.call("conv2d", (x, w, None), {"stride": (1, 1), "padding": (0, 0)})
        times.append(time.perf_counter() - began)
    process.close()
    return start, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--calls", type=int, default=2000)
    options = parser.parse_args()
    binaries, build_seconds = build()
    print("| build (from scratch) | seconds |\n|---|---|")
    for name, seconds in build_seconds.items():
        print(f"| {name} | {seconds:.1f} |")

    runs = {
        "--impl cnnref (Python, NumPy)": ["--impl", "cnnref"],
        "--command examples/c": ["--command", str(binaries["C"])],
        "--command examples/rust": ["--command", str(binaries["Rust"])],
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(options.repeat):
        for name, arguments in runs.items():
            times[name].append(verify_seconds(arguments))
    print("\n| default `cnnref verify` | median s | runs |\n|---|---|---|")
    for name, values in times.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"| {name} | {statistics.median(values):.1f} | {shown} |")

    processes = {
        "Python runner, cnnref": CandidateProcess("cnnref", ("conv2d",)),
        "C client": CandidateProcess("c", ("conv2d",), command=Command([str(binaries["C"])])),
        "Rust client": CandidateProcess(
            "rust", ("conv2d",), command=Command([str(binaries["Rust"])])
        ),
    }
    print("\n| candidate | start to ready (ms) | one small call (ms) |\n|---|---|---|")
    for name, process in processes.items():
        start, call = per_call(process, options.calls)
        print(f"| {name} | {start * 1000:.0f} | {call * 1000:.3f} |")


if __name__ == "__main__":
    main()
