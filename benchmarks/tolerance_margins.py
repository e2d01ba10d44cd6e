"""How much of cnnref's conv tolerance correct FFT and Winograd candidates use, and bugs miss by.

    python benchmarks/tolerance_margins.py [--geometries N] [--seed S]

For N random geometries (sides up to 41, up to 8 channels per group, kernels
1-5, stride, padding, dilation, groups) in float64 and float32, with values
drawn standard normal and, for half of the geometries, scaled by 10**U(-3, 3)
per element (mixed magnitudes, where elementwise bounds are weakest), it runs
the FFT and Winograd test candidates (tests/candidates/) and prints, per
candidate and dtype:

* ``old``: the worst error / (rtol * scale), the elementwise tolerance alone;
* ``normwise need``: the worst error / (u log2(L) * norm scale): the
  NORMWISE_FACTOR a candidate needs to pass on the normwise term alone;
* ``new``: the worst error / the whole tolerance (rtol * scale + normwise).

Then the float32-inside-float64 bugs of the catalogue against the whole
tolerance: their smallest ratio over the geometries where they err at all
(how many times over the tolerance they are).  Measured, never asserted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cnnref import reference
from cnnref.checks.compare import NORMWISE_FACTOR, rtol_for
from cnnref.ops.conv2d.properties import backward_normwise, forward_normwise, summed_terms
from cnnref.ops.conv2d.scales import conv2d_backward_scales, conv2d_scale
from cnnref.strategies import ConvCase
from tests.candidates import catalogue, fft, winograd

OUTPUTS = ("y", "dx", "dw", "db")


def sides_that_fit(rng: np.random.Generator, kernel, dilation, padding, *, largest: int) -> list:
    """Random input sides up to ``largest``, each at least what the dilated kernel needs."""
    sides = []
    for k, d, p in zip(kernel, dilation, padding):
        low = max(1, (k - 1) * d + 1 - 2 * p)
        sides.append(int(rng.integers(low, max(low, largest) + 1)))
    return sides


def random_case(rng: np.random.Generator, dtype: str, winograd_shape: bool) -> ConvCase:
    """A valid geometry: sides up to 41, the kernel fitting the padded input."""
    groups = int(rng.integers(1, 4))
    kernel = (3, 3) if winograd_shape else tuple(int(k) for k in rng.integers(1, 6, 2))
    stride = (1, 1) if winograd_shape and rng.random() < 0.7 else tuple(rng.integers(1, 4, 2))
    dilation = (1, 1) if winograd_shape and rng.random() < 0.7 else tuple(rng.integers(1, 4, 2))
    padding = tuple(int(p) for p in rng.integers(0, 4, 2))
    sides = sides_that_fit(rng, kernel, dilation, padding, largest=41)
    return ConvCase(
        batch=int(rng.integers(1, 4)),
        in_channels=groups * int(rng.integers(1, 9)),
        out_channels=groups * int(rng.integers(1, 9)),
        height=sides[0],
        width=sides[1],
        kernel_size=kernel,
        stride=tuple(int(s) for s in stride),
        padding=padding,
        dilation=tuple(int(d) for d in dilation),
        groups=groups,
        bias=True,
        dtype=dtype,
        seed=int(rng.integers(0, 2**31)),
    )


def inputs(case: ConvCase, rng: np.random.Generator, mixed: bool):
    x, w, b, dy = case.arrays()
    if mixed:  # every element scaled by 10**U(-3, 3)
        x, w, dy = (a * 10 ** rng.uniform(-3, 3, a.shape) for a in (x, w, dy))
        x, w, dy = (a.astype(case.dtype) for a in (x, w, dy))
    return x, w, b, dy


def ratios(case: ConvCase, arrays, outputs) -> dict[str, tuple[float, float, float]]:
    """Per output: (error / elementwise tol, error / (u log2 L norm scale), error / whole tol)."""
    x, w, b, dy = (None if a is None else np.asarray(a, np.float64) for a in arrays)
    expected = [reference.conv2d(x, w, b, **case.geometry)]
    expected += list(reference.conv2d_backward(dy, x, w, b, **case.geometry))
    scales = [conv2d_scale(x, w, b, **case.geometry)]
    scales += list(conv2d_backward_scales(dy, x, w, b, **case.geometry))
    normwise = {"y": forward_normwise(case, x, w), **backward_normwise(case, dy, x, w)}
    terms = summed_terms(case)
    found = {}
    for name, got, want, scale in zip(OUTPUTS, outputs, expected, scales):
        error = np.abs(np.asarray(got, np.float64) - want)
        elementwise = rtol_for(case.dtype, terms[name]) * scale
        norm = normwise[name] / NORMWISE_FACTOR
        with np.errstate(divide="ignore", invalid="ignore"):
            found[name] = tuple(
                float(np.max(np.where(error == 0, 0.0, error / tol), initial=0.0))
                if np.any(tol > 0)
                else float("nan")  # db: no normwise term
                for tol in (elementwise, norm, elementwise + normwise[name])
            )
    return found


def run(module, case: ConvCase, arrays):
    x, w, b, dy = arrays
    return [
        module.conv2d(x, w, b, **case.geometry),
        *module.conv2d_backward(dy, x, w, b, **case.geometry),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--geometries", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"NORMWISE_FACTOR = {NORMWISE_FACTOR}; {args.geometries} geometries per dtype")
    print(
        "| candidate | dtype | output | old: error / rtol·scale | normwise need | new: error / tolerance |"
    )
    print("|---|---|---|---:|---:|---:|")
    bugs = {"float32_accumulator": [], "backward_float32": []}
    for dtype in ("float64", "float32"):
        worst = {}
        for index in range(args.geometries):
            shape_for_winograd = index % 2 == 0
            case = random_case(rng, dtype, shape_for_winograd)
            arrays = inputs(case, rng, mixed=index % 4 >= 2)
            for label, module in (("fft", fft), ("winograd", winograd)):
                for name, triple in ratios(case, arrays, run(module, case, arrays)).items():
                    key = (label, name)
                    worst[key] = tuple(np.fmax(worst.get(key, (0, 0, 0)), triple))
            if dtype == "float64":
                for bug in bugs:
                    found = ratios(case, arrays, run(getattr(catalogue, bug), case, arrays))
                    old = max(triple[0] for triple in found.values())
                    new = max(triple[2] for triple in found.values())
                    if new > 0:
                        bugs[bug].append((old, new))
        for (label, name), (old, need, new) in sorted(worst.items()):
            print(f"| {label} | {dtype} | {name} | {old:.3g} | {need:.3g} | {new:.3g} |")
    print()
    print(
        "| float64 bug | geometries where it errs | smallest error / tolerance, old -> new "
        "| median, old -> new |"
    )
    print("|---|---:|---:|---:|")
    for bug, found in bugs.items():
        old, new = np.array(found).T
        print(
            f"| {bug} | {len(found)} | {old.min():.3g} -> {new.min():.3g} "
            f"| {np.median(old):.3g} -> {np.median(new):.3g} |"
        )


if __name__ == "__main__":
    main()
