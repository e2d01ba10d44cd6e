"""Which catalogued bugs does torch.autograd.gradcheck catch on typical fixed shapes, and which does cnnref?

    python benchmarks/gradcheck_comparison.py          # prints a Markdown table (takes a few minutes)

gradcheck compares a backward with finite differences of *its own* forward,
on the shapes you give it.  Each candidate's forward and backward are wrapped
in a torch.autograd.Function and checked on the shapes a typical test uses:
conv x (2, 3, 6, 6), w (4, 3, 3, 3) with bias, stride 1, padding 1; and
max pool x (2, 3, 6, 6), kernel 2 (stride = kernel), on random normal input.
Any exception counts as caught.  cnnref runs ``verify(ops=[op], exitfirst=True, seed=0)``
with its default settings otherwise (seed 0: a fresh search, as in CI).
"""

from __future__ import annotations

import importlib
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnref.verify import verify
from tests.candidates.catalogue import BUGS

CONV = {"stride": 1, "padding": 1}
POOL = {"kernel_size": 2}


def conv_function(candidate):
    class Conv(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b):
            ctx.save_for_backward(x, w, b)
            return torch.from_numpy(
                np.asarray(candidate.conv2d(x.numpy(), w.numpy(), b.numpy(), **CONV))
            )

        @staticmethod
        def backward(ctx, dy):
            x, w, b = ctx.saved_tensors
            grads = candidate.conv2d_backward(dy.numpy(), x.numpy(), w.numpy(), b.numpy(), **CONV)
            return tuple(torch.from_numpy(np.asarray(g)) for g in grads)

    return Conv.apply


def pool_function(candidate):
    class Pool(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return torch.from_numpy(np.asarray(candidate.max_pool2d(x.numpy(), **POOL)))

        @staticmethod
        def backward(ctx, dy):
            (x,) = ctx.saved_tensors
            return torch.from_numpy(
                np.asarray(candidate.max_pool2d_backward(dy.numpy(), x.numpy(), **POOL))
            )

    return Pool.apply


def gradcheck_catches(candidate, op: str) -> bool:
    generator = torch.Generator().manual_seed(0)
    try:
        if op == "conv":
            inputs = [
                torch.randn(*shape, dtype=torch.float64, generator=generator, requires_grad=True)
                for shape in ((2, 3, 6, 6), (4, 3, 3, 3), (4,))
            ]
            return not torch.autograd.gradcheck(
                conv_function(candidate), inputs, raise_exception=False
            )
        x = torch.randn(2, 3, 6, 6, dtype=torch.float64, generator=generator, requires_grad=True)
        return not torch.autograd.gradcheck(pool_function(candidate), (x,), raise_exception=False)
    except Exception:
        return True


def main() -> None:
    catalogue = importlib.import_module("tests.candidates.catalogue")
    rows, caught = [], {"gradcheck": 0, "cnnref": 0}
    for bug, (op, description) in BUGS.items():
        by_gradcheck = gradcheck_catches(getattr(catalogue, bug), op)
        start = time.perf_counter()
        # seed 0: a fresh search, never a replay from the local example database
        result = verify(f"tests.candidates.catalogue:{bug}", ops=[op], exitfirst=True, seed=0)
        seconds = time.perf_counter() - start
        by_cnnref = not result.passed
        caught["gradcheck"] += by_gradcheck
        caught["cnnref"] += by_cnnref
        first = result.failures[0] if result.failures else None
        where = (
            f"`{first.name}`: {first.examples} examples, {first.seconds:.2f} s" if first else "-"
        )
        rows.append(
            f"| `{bug}` | {description} | {'caught' if by_gradcheck else '**missed**'} | "
            f"{'caught' if by_cnnref else '**missed**'} | {where} | {seconds:.1f} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    print(
        "| bug | what is wrong | gradcheck | cnnref verify | first failing property: examples run, time to find and shrink | total s (-x) |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    total = len(BUGS)
    print(
        f"| **total** | {total} bugs | **{caught['gradcheck']}/{total}** | **{caught['cnnref']}/{total}** | | |"
    )


if __name__ == "__main__":
    main()
