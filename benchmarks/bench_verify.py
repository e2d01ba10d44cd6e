"""How long a default ``cnnref verify`` takes: correct candidates (the whole gate) and buggy ones.

    python benchmarks/bench_verify.py

Each run is a fresh ``cnnref verify`` process with default settings under
CI=true (derandomized), as a CI job would run it.  Prints a Markdown table.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = {
    "cnnref": "the reference itself",
    "tests.candidates.torch_backed": "PyTorch-backed, correct",
    "tests.candidates.catalogue:correct": "from-scratch im2col (student.py), correct",
    "tests.candidates.loops": "a Python loop over output pixels (loops.py), correct",
    "tests.candidates.catalogue:ties_last": "tie routed to the last maximum",
    "tests.candidates.catalogue:flip_kernel": "true convolution, forward and backward",
    "tests.candidates.catalogue:dw_whole_chunks_only": "dW drops batch items past 32",
}


def main() -> None:
    environment = os.environ | {"CI": "true", "PYTHONPATH": str(ROOT)}
    print("| candidate | what | exit | properties failed | wall time (s) |")
    print("|---|---|---|---|---|")
    for target, what in CANDIDATES.items():
        start = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "cnnref", "verify", "--impl", target],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
        failed = sum(line.startswith("FAILED ") for line in run.stdout.splitlines())
        print(f"| `{target}` | {what} | {run.returncode} | {failed} | {seconds:.1f} |", flush=True)


if __name__ == "__main__":
    main()
