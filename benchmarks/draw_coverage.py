"""How many distinct geometries a default ``cnnref verify`` run draws, over all its properties.

    python benchmarks/draw_coverage.py [--before PATH] [--seeds 0 1 2]

Runs the default verification of the reference (every property, isolation off,
so it is quick) derandomized under CI=true and at each ``--seeds`` seed, records
every case each property drew, and counts the distinct ones per op, ignoring
the seed that makes a case's values: the geometries (shapes, settings, layout,
pool value kind) the run actually tried.  ``--before PATH`` counts the same with
another checkout of cnnref (``git archive HEAD | tar -x -C /tmp/before``), so a
change to how examples are drawn is measured side by side.  Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Runs in a fresh process of the checkout under test: wraps the runner's evaluate to record
# each drawn case, then runs the default verification of the reference.
COUNT = """
import json, sys
from dataclasses import replace
import cnnref.verify.runner as runner
from cnnref.verify import verify

drawn = {"conv": [], "pool": []}
evaluate = runner.evaluate

def recording(name, candidate, case):
    drawn["conv" if name.startswith("conv2d") else "pool"].append(replace(case, seed=0))
    return evaluate(name, candidate, case)

runner.evaluate = recording
seed = None if sys.argv[1] == "ci" else int(sys.argv[1])
result = verify("cnnref", seed=seed, isolate=False)
assert result.passed, result.explain()
print(json.dumps({op: [len(cases), len(set(cases))] for op, cases in drawn.items()}))
"""


def count(checkout: Path, mode: str) -> dict[str, list[int]]:
    """{op: [examples, distinct geometries]} of one default run of ``checkout``."""
    environment = os.environ | {"PYTHONPATH": str(checkout), "CI": "true" if mode == "ci" else ""}
    run = subprocess.run(
        [sys.executable, "-c", COUNT, mode],
        env=environment,
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="another checkout of cnnref to compare with")
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    args = parser.parse_args()
    checkouts = {"now": ROOT} | ({"before": args.before.resolve()} if args.before else {})
    modes = ["ci", *map(str, args.seeds)]
    header = "| run | " + " | ".join(
        f"{op} distinct / examples ({name})" for name in checkouts for op in ("conv", "pool")
    )
    print(header + " |")
    print("|---" + "|---:" * (2 * len(checkouts)) + "|")
    for mode in modes:
        counts = {name: count(path, mode) for name, path in checkouts.items()}
        cells = [
            f"{counts[name][op][1]} / {counts[name][op][0]}"
            for name in checkouts
            for op in ("conv", "pool")
        ]
        label = "CI=true (derandomized)" if mode == "ci" else f"--seed {mode}"
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
