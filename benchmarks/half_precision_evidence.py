"""How close correct half-precision kernels come to cnnref's derived bound, how far the
low-precision bugs go past it, and what ``torch.testing.assert_close``'s defaults say.

    nice -n 10 python benchmarks/half_precision_evidence.py [--geometries N] [--seed S]

For N random geometries per dtype (float16, bfloat16) it runs each candidate on the
same examples and prints, per candidate, dtype and output:

* ``worst / bound``: the largest error / cnnref's tolerance (docs/tolerances.md, "Half
  precision": float32 accumulation term + half an ulp of the format at |y|); above 1 fails;
* ``caught``: the geometries on which cnnref's bound fails it (for a bug: how often a
  single example shows it);
* ``assert_close fails``: the geometries on which ``torch.testing.assert_close`` with the
  dtype's default tolerances (float16 rtol 1e-3, atol 1e-5; bfloat16 rtol 1.6e-2,
  atol 1e-5), comparing with the exact result, fails it.

Geometries: 80% ordinary convolutions (sides up to 20, up to 8 channels per group,
kernels 1-5, stride, padding, dilation, groups up to 3, batch up to 3), 10% long
reductions (128-256 input channels, 3x3: 1,152 to 2,304 products per output), 10% large
batches (33-40 items: dW sums 33 to 2,560 products); values at the case's magnitude
(float16: ordinary, near its overflow, subnormal; bfloat16: ordinary; ``cnnref.strategies.cases``).  Pooling
bugs run on pooling geometries drawn alike.  PyTorch CPU skips the subnormal geometries,
which it declares unsupported (its bfloat16 convolution flushes them to zero), and is shown
under both bounds: one rounding, and accumulation='half' as it declares.  Measured, never
asserted.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnref.properties.compare import compare, rtol_for

from cnnref import precision, reference
from cnnref.ops.avg_pool2d.scales import avg_pool2d_scale
from cnnref.ops.conv2d.properties import (
    backward_normwise,
    forward_normwise,
    summed_terms,
)
from cnnref.ops.conv2d.scales import conv2d_backward_scales, conv2d_scale
from cnnref.ops.max_pool2d.scales import max_pool2d_backward_scale
from cnnref.precision import through_float32
from cnnref.strategies import AvgPoolCase, ConvCase, PoolCase
from cnnref.strategies.cases import magnitude
from tests.candidates import fft, half_precision, winograd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tolerance_margins import sides_that_fit

ASSERT_CLOSE = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5)}  # (rtol, atol)


def conv_case(rng: np.random.Generator, dtype: str) -> ConvCase:
    kind = rng.random()
    seed = int(rng.integers(2**32))
    if kind < 0.1:  # a long reduction
        return ConvCase(
            1,
            int(rng.integers(128, 257)),
            int(rng.integers(1, 5)),
            *(int(s) for s in rng.integers(3, 7, 2)),
            (3, 3),
            dtype=dtype,
            seed=seed,
        )
    if kind < 0.2:  # a large batch: dW sums over it
        return ConvCase(
            int(rng.integers(33, 41)),
            int(rng.integers(1, 3)),
            int(rng.integers(1, 3)),
            *(int(s) for s in rng.integers(3, 9, 2)),
            (2, 2),
            dtype=dtype,
            seed=seed,
        )
    groups = int(rng.integers(1, 4))
    kernel = tuple(int(k) for k in rng.integers(1, 6, 2))
    dilation = tuple(int(d) for d in rng.integers(1, 3, 2))
    padding = tuple(int(p) for p in rng.integers(0, 3, 2))
    sides = sides_that_fit(rng, kernel, dilation, padding, largest=20)
    return ConvCase(
        int(rng.integers(1, 4)),
        groups * int(rng.integers(1, 9)),
        groups * int(rng.integers(1, 9)),
        *sides,
        kernel,
        stride=tuple(int(s) for s in rng.integers(1, 3, 2)),
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=bool(rng.integers(2)),
        dtype=dtype,
        seed=seed,
    )


def torch_conv(x, w, b, dy, **geometry):
    import torch
    import torch.nn.functional as F

    from cnnref.adapters.arrays import as_array
    from cnnref.adapters.pytorch import _tensor

    cpu = torch.device("cpu")
    xt, wt = (_tensor(torch, np.ascontiguousarray(a), cpu).requires_grad_() for a in (x, w))
    bt = None if b is None else _tensor(torch, np.ascontiguousarray(b), cpu)
    y = F.conv2d(xt, wt, bt, **geometry)
    y.backward(_tensor(torch, np.ascontiguousarray(dy), cpu))
    return as_array(y.detach()), as_array(xt.grad), as_array(wt.grad)


def conv_outputs(name: str, case: ConvCase, x, w, b, dy) -> dict:
    g = case.geometry
    if name == "torch_cpu":
        y, dx, dw = torch_conv(x, w, b, dy, **g)
        return {"y": y, "dx": dx, "dw": dw}
    candidate = {
        "im2col_float32": half_precision.im2col_float32,
        "direct_loop": half_precision.direct_loop,
        "half_accumulation": half_precision.half_accumulation,
        "bfloat16_truncation": half_precision.bfloat16_truncation,
        "float32_output": half_precision.float32_output,
        "dw_half_over_batch": half_precision.dw_half_over_batch,
    }.get(name)
    if name in ("fft", "winograd"):
        module = {"fft": fft, "winograd": winograd}[name]
        y = through_float32(module.conv2d)(x, w, b, **g)
        dx, dw, _ = through_float32(module.conv2d_backward)(dy, x, w, b, **g)
        return {"y": y, "dx": dx, "dw": dw}
    out = {}
    if name in (
        "im2col_float32",
        "direct_loop",
        "half_accumulation",
        "bfloat16_truncation",
        "float32_output",
    ):
        out["y"] = candidate.conv2d(x, w, b, **g)
    if name in ("im2col_float32", "direct_loop", "dw_half_over_batch"):
        out["dx"], out["dw"], _ = candidate.conv2d_backward(dy, x, w, b, **g)
    return out


CONV_CANDIDATES = {
    "correct": ["im2col_float32", "direct_loop", "fft", "winograd", "torch_cpu"],
    "bug": ["half_accumulation", "bfloat16_truncation", "float32_output", "dw_half_over_batch"],
}


class Tally:
    def __init__(self):
        self.worst = 0.0
        self.caught = 0
        self.loose_fails = 0
        self.n = 0

    def add(self, ratio: float, caught: bool, loose_fail: bool) -> None:
        self.worst = max(self.worst, ratio)
        self.caught += caught
        self.loose_fails += loose_fail
        self.n += 1


def judge(tally, actual, expected, scale, rtol, normwise, dtype, accumulation="float32"):
    with precision.accumulating(accumulation):
        comparison = compare(
            actual,
            expected,
            scale=scale,
            rtol=rtol,
            name="out",
            normwise=normwise,
            rounded_to=dtype,
        )
    rtol_ac, atol_ac = ASSERT_CLOSE[dtype]
    a = np.asarray(actual, np.float64)
    with np.errstate(invalid="ignore"):
        same = (a == expected) | (np.isnan(a) & np.isnan(expected))
        close = np.abs(a - expected) <= atol_ac + rtol_ac * np.abs(expected)
    loose_fail = not bool(np.all(same | close))
    tally.add(comparison.ratio, not comparison.passed, loose_fail)


def run_conv(rng, dtype, geometries, tallies):
    for _ in range(geometries):
        case = conv_case(rng, dtype)
        x, w, b, dy = case.arrays()
        x64, w64, b64, dy64 = (None if a is None else a.astype(np.float64) for a in (x, w, b, dy))
        g = case.geometry
        expected = {"y": reference.conv2d(x64, w64, b64, **g)}
        expected["dx"], expected["dw"], _ = reference.conv2d_backward(dy64, x64, w64, b64, **g)
        scales = {"y": conv2d_scale(x64, w64, b64, **g)}
        scales["dx"], scales["dw"], _ = conv2d_backward_scales(dy64, x64, w64, b64, **g)
        normwise = {"y": forward_normwise(case, x64, w64)} | backward_normwise(case, dy64, x64, w64)
        terms = summed_terms(case)
        for kind, names in CONV_CANDIDATES.items():
            for name in names:
                if name == "bfloat16_truncation" and dtype != "bfloat16":
                    continue
                if name == "float32_output" and dtype != "float16":
                    continue
                if name == "torch_cpu" and magnitude(dtype, case.seed) == "subnormal":
                    continue  # it declares "subnormal": oneDNN flushes them to zero
                for output, actual in conv_outputs(name, case, x, w, b, dy).items():
                    args = (
                        expected[output],
                        scales[output],
                        rtol_for(dtype, terms[output]),
                        normwise[output],
                        dtype,
                    )
                    judge(tallies[(kind, name, dtype, output)], actual, *args)
                    if name == "torch_cpu":
                        with precision.accumulating("half"):
                            half_rtol = rtol_for(dtype, terms[output])
                        judge(
                            tallies[
                                (kind, name + " (accumulation='half' declared)", dtype, output)
                            ],
                            actual,
                            expected[output],
                            scales[output],
                            half_rtol,
                            normwise[output],
                            dtype,
                            accumulation="half",
                        )


def pool_geometry(rng):
    kernel = tuple(int(k) for k in rng.integers(1, 4, 2))
    stride = tuple(int(s) for s in rng.integers(1, 4, 2))
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    sides = [int(rng.integers(max(1, k - 2 * p), 21)) for k, p in zip(kernel, padding)]
    return dict(
        batch=int(rng.integers(1, 4)),
        channels=int(rng.integers(1, 4)),
        height=sides[0],
        width=sides[1],
        kernel_size=kernel,
        stride=stride,
        padding=padding,
    )


def judge_pair(tallies, bug, function, operands, geometry, expected, scale, rtol, dtype):
    """The correct kernel and ``bug`` on one pooling example."""
    label = {"avg_pool2d": "avg_pool2d y", "max_pool2d_backward": "max_pool2d dx"}[function]
    for kind, name in (("correct", "im2col_float32"), ("bug", bug)):
        actual = getattr(getattr(half_precision, name), function)(*operands, **geometry)
        judge(tallies[(kind, name, dtype, label)], actual, expected, scale, rtol, 0.0, dtype)


def run_pools(rng, dtype, geometries, tallies):
    for _ in range(geometries):
        geometry = pool_geometry(rng)
        seed = int(rng.integers(2**32))
        case = AvgPoolCase(**geometry, dtype=dtype, seed=seed)
        x, _ = case.arrays()
        x64 = x.astype(np.float64)
        g = case.geometry
        expected = reference.avg_pool2d(x64, **g)
        scale = avg_pool2d_scale(x64, **g)
        rtol = rtol_for(dtype, int(np.prod(case.kernel_size)) + 1)
        judge_pair(
            tallies, "avg_pool_sum_overflow", "avg_pool2d", (x,), g, expected, scale, rtol, dtype
        )
        case = PoolCase(**geometry, values="ties", dtype=dtype, seed=seed)
        x, dy = case.arrays()
        x64, dy64 = x.astype(np.float64), dy.astype(np.float64)
        g = case.geometry
        expected = reference.max_pool2d_backward(dy64, x64, **g)
        scale = max_pool2d_backward_scale(dy64, x64, **g)
        rtol = rtol_for(dtype, int(np.prod(case.kernel_size)))
        judge_pair(
            tallies,
            "half_ties_last",
            "max_pool2d_backward",
            (dy, x),
            g,
            expected,
            scale,
            rtol,
            dtype,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    tallies: dict = defaultdict(Tally)
    for dtype in precision.HALF_DTYPES:
        rng = np.random.default_rng([args.seed, precision.HALF_DTYPES.index(dtype)])
        run_conv(rng, dtype, args.geometries, tallies)
        run_pools(rng, dtype, args.geometries, tallies)
    print(
        "| kind | candidate | dtype | output | worst error / bound | cnnref fails | "
        "assert_close fails |"
    )
    print("|---|---|---|---|---:|---:|---:|")
    for (kind, name, dtype, output), t in sorted(tallies.items()):
        print(
            f"| {kind} | {name} | {dtype} | {output} | {t.worst:.3g} | {t.caught}/{t.n} | "
            f"{t.loose_fails}/{t.n} |"
        )


if __name__ == "__main__":
    main()
