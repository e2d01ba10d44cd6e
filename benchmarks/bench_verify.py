"""How long a default ``cnnref verify`` takes: correct candidates, buggy ones, and ones that crash.

    python benchmarks/bench_verify.py [--before PATH] [--repeat N] [--only NAME ...] [--cap S]

The first rows are the goals of issue 28 (a subset of the ops, -x, a hang); the rest are
default runs of each candidate.

Each run is a fresh ``cnnref verify`` process with default settings under
CI=true (derandomized), as a CI job would run it.  ``--before PATH`` times
the same runs with another checkout of cnnref (for example ``git worktree add
/tmp/before HEAD~1``) in the same session, alternating the two, so that a
change is measured side by side on the same machine state; ``--repeat N``
runs each candidate N times and shows the median wall time (the machine is
shared and noisy: single runs vary by 20%).  A run past ``--cap`` seconds is
stopped and shown as "> cap".  Also measures the start-up
of the process that runs a candidate (median of 5).  Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Runs with options beyond the defaults (issue 28's goals): name -> (target, options, what).
RUNS = {
    "cnnref --ops conv pool": (
        "cnnref",
        ("--ops", "conv", "pool"),
        "the reference, conv2d + max_pool2d",
    ),
    "flip_kernel -x": (
        "tests.candidates.catalogue:flip_kernel",
        ("-x",),
        "a catalogue bug, stopping at the first failure",
    ),
    "ties_last -x": (
        "tests.candidates.catalogue:ties_last",
        ("-x",),
        "a catalogue bug, stopping at the first failure",
    ),
    "hangs": ("tests.candidates.catalogue:hangs", (), "conv2d never returns"),
}
CANDIDATES = {
    "cnnref": "the reference itself",
    "tests.candidates.torch_backed": "PyTorch-backed, correct",
    "tests.candidates.catalogue:correct": "from-scratch im2col (student.py), correct",
    "tests.candidates.loops": "a Python loop over output pixels (loops.py), correct",
    "tests.candidates.catalogue:ties_last": "tie routed to the last maximum",
    "tests.candidates.catalogue:flip_kernel": "true convolution, forward and backward",
    "tests.candidates.catalogue:dw_whole_chunks_only": "dW drops batch items past 32",
    "tests.candidates.catalogue:crashes": "max_pool2d_backward aborts the process",
    "tests.candidates.catalogue:aborts_always": "every function aborts the process",
    "tests.candidates.catalogue:exits_always": "every function calls os._exit(3)",
}
# Start the candidate's process and load cnnref in it; the API of this checkout or the one before.
STARTUP = """
import time
try:
    from cnnref.sandbox.process import CandidateProcess
    start = lambda: CandidateProcess("cnnref", ("conv2d",))
except ImportError:
    from cnnref.verify.sandbox import Sandbox
    start = lambda: Sandbox("cnnref", timeout=10)
began = time.perf_counter()
process = start().start()
print(time.perf_counter() - began)
process.close()
"""


def verify_seconds(
    checkout: Path, target: str, cap: float, options: tuple[str, ...] = ()
) -> tuple[str, int | None, int]:
    """(wall time, exit code, properties failed) of one run in ``checkout``."""
    environment = os.environ | {"CI": "true", "PYTHONPATH": str(checkout)}
    start = time.perf_counter()
    try:
        run = subprocess.run(
            [sys.executable, "-m", "cnnref", "verify", "--impl", target, *options],
            cwd=checkout,
            env=environment,
            capture_output=True,
            text=True,
            timeout=cap,
        )
    except subprocess.TimeoutExpired:
        return f"> {cap:.0f}", None, 0
    seconds = time.perf_counter() - start
    failed = sum(line.startswith("FAILED ") for line in run.stdout.splitlines())
    return f"{seconds:.1f}", run.returncode, failed


def startup_seconds(checkout: Path) -> float:
    environment = os.environ | {"PYTHONPATH": str(checkout)}
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", STARTUP],
                cwd=checkout,
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(5)
    ]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another checkout of cnnref to time alongside")
    parser.add_argument("--only", nargs="+", help="only these candidates")
    parser.add_argument("--cap", type=float, default=600.0, help="seconds before a run is stopped")
    parser.add_argument("--repeat", type=int, default=1, help="runs per candidate (median shown)")
    parser.add_argument(
        "--skip-startup", action="store_true", help="leave out the candidate process's start-up"
    )
    args = parser.parse_args()
    checkouts = {"after": ROOT} | ({"before": args.before.resolve()} if args.before else {})

    if not args.skip_startup:
        print("| start-up of the candidate's process | " + " | ".join(checkouts) + " |")
        print("|---|" + "---|" * len(checkouts))
        figures = [f"{startup_seconds(path):.2f} s" for path in checkouts.values()]
        print("| `cnnref` loaded, ready for a call | " + " | ".join(figures) + " |\n", flush=True)

    columns = " | ".join(f"{name}: exit, failed, wall s" for name in checkouts)
    print(f"| candidate | what | {columns} |")
    print("|---|---|" + "---|" * len(checkouts))
    rows = {**RUNS, **{target: (target, (), what) for target, what in CANDIDATES.items()}}
    for label, (target, options, what) in rows.items():
        if args.only and not any(
            label == name or label.endswith(("." + name, ":" + name)) for name in args.only
        ):
            continue
        runs: dict[str, list] = {name: [] for name in checkouts}
        for _ in range(args.repeat):  # alternating, so that both see the same machine state
            for name, path in checkouts.items():
                if (path / "tests" / "candidates").exists():
                    runs[name].append(verify_seconds(path, target, args.cap, options))
        cells = []
        for name in checkouts:
            if not runs[name]:
                cells.append("-")
                continue
            times = [seconds for seconds, _, _ in runs[name]]
            capped = any(t.startswith(">") for t in times)
            middle = times[0] if capped else f"{statistics.median(map(float, times)):.1f}"
            _, code, failed = runs[name][0]
            spread = (
                ""
                if len(times) == 1 or capped
                else f" ({min(times, key=float)}-{max(times, key=float)})"
            )
            cells.append(f"{code if code is not None else '-'}, {failed}, {middle}{spread}")
        print(f"| `{label}` | {what} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
