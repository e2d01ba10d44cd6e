"""cnnref against PyTorch CPU, side by side in one process, with the same thread count.

    python benchmarks/bench_ops.py              # the public (fast) functions
    python benchmarks/bench_ops.py --literal    # the literal derivation form, for comparison
    python benchmarks/bench_ops.py --quick      # fewer repeats
    python benchmarks/bench_ops.py --only convT # only the cases whose name holds "convT"
    python benchmarks/bench_ops.py --only "avg pool"    # avg_pool2d's cases
    python benchmarks/bench_ops.py --threads 1  # both libraries on one thread

For each case it prints the wall time per call of cnnref and of torch (median
of a block of calls, best of several blocks, see ``median_times``), their ratio, cnnref's GFLOP/s and that as a
percentage of the machine's matmul peak, measured in the same run.  Then it
reports the peak memory (tracemalloc, which sees NumPy's allocations) of one
training step and of the largest conv layer, against the size of their
activations.  Timings on a shared machine are noisy: compare ratios taken in
one run, not times across runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_training import torch_twin  # this folder is on sys.path when run as a script

import cnnref
from cnnref.cli import positive_int
from cnnref.ops.threads import blas_controller
from cnnref.reference import literal
from cnnref.train.losses import softmax_cross_entropy
from cnnref.train.model import Sequential, small_cnn
from cnnref.train.optim import SGD

DTYPES = (np.float32, np.float64)

# (name, batch, in channels, out channels, size): 3x3 kernels, padding 1.
CONV_LAYERS = (
    ("conv 1->32 28x28 b64", 64, 1, 32, 28),
    ("conv 32->64 14x14 b64", 64, 32, 64, 14),
    ("conv 64->64 32x32 b32", 32, 64, 64, 32),
)
# (name, input shape): 2x2 windows, stride 2, on the conv layers' outputs.
POOL_LAYERS = (
    ("pool 2x2 32ch 28x28 b64", (64, 32, 28, 28)),
    ("pool 2x2 64ch 14x14 b64", (64, 64, 14, 14)),
    ("pool 2x2 64ch 32x32 b32", (32, 64, 32, 32)),
)
# (name, batch, in channels, out channels, input size): a decoder's upsampling layers, 3x3
# kernels, stride 2, padding 1, output_padding 1 (each doubles the side).
CONV_TRANSPOSE_LAYERS = (
    ("convT 64->32 14x14->28x28 b64", 64, 64, 32, 14),
    ("convT 32->16 28x28->56x56 b32", 32, 32, 16, 28),
)
CONV_TRANSPOSE_GEOMETRY = {"stride": 2, "padding": 1, "output_padding": 1}
# (name, input shape, geometry): avg_pool2d's common 2x2 layer, and a 3x3 stride-2 layer with
# padding whose ceil_mode windows hang past the padded input and divide by what they cover.
AVG_POOL_LAYERS = (
    ("avg pool 2x2 64ch 32x32 b32", (32, 64, 32, 32), {"kernel_size": 2}),
    (
        "avg pool 3x3 s2 p1 ceil, pad not counted, 64ch 31x31 b32",
        (32, 64, 31, 31),
        {
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "ceil_mode": True,
            "count_include_pad": False,
        },
    ),
)
MNIST_BATCH = 64
FASHION_MNIST_STEPS = -(-60_000 // MNIST_BATCH)  # one epoch of 60k images


def all_cores() -> int:
    """The cores this process may run on: the thread count both libraries get by default."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@dataclass
class Case:
    name: str
    dtype: type
    flops: float | None  # floating-point operations of one cnnref call, None where not meaningful
    run_cnnref: Callable[[], object]
    run_torch: Callable[[], object]


def median_times(
    case: Case, repeats: int, warmup: int, rounds: int = 5
) -> tuple[float, float, int]:
    """Seconds per call of cnnref and of torch: the median of a block of calls, in the
    best of ``rounds`` blocks, each library's blocks alternating with the other's.

    Each library is timed in blocks of its own calls, each block starting
    once the cores are quiet: both libraries leave idle threads spinning for
    a while after a call (OpenBLAS for about 0.1-0.2 s), which would slow the
    other down if calls alternated one by one.  Other jobs on a shared
    machine only ever add time: a block during which they used the cores is
    timed again (up to 3 times), and the least disturbed block is the one
    that says what the code costs.  Also returns how many blocks stayed disturbed.
    """
    ours, theirs, disturbed = [], [], 0
    for _ in range(rounds):
        for run, times in ((case.run_cnnref, ours), (case.run_torch, theirs)):
            for _attempt in range(3):
                wait_for_quiet_cores()
                start = cpu_ticks()
                for _ in range(warmup):
                    run()
                block = statistics.median(_seconds(run) for _ in range(repeats))
                quiet = others_were_quiet(start, cpu_ticks())
                if quiet:
                    break
            times.append(block)
            disturbed += not quiet
    return min(ours), min(theirs), disturbed


def wait_for_quiet_cores(timeout: float = 15.0, window: float = 0.5) -> None:
    """Wait until other processes left the cores alone for ``window`` seconds (at most
    ``timeout``).  That also lets the library timed last park its idle threads."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        start = cpu_ticks()
        time.sleep(window)
        if others_were_quiet(start, cpu_ticks()):
            return


def others_were_quiet(start: tuple[int, int], end: tuple[int, int], share: float = 0.03) -> bool:
    """Whether other processes used at most ``share`` of the cores' time between two
    ``cpu_ticks()`` readings (a little is always taken by system daemons)."""
    (others_start, total_start), (others_end, total_end) = start, end
    return others_end - others_start <= share * (total_end - total_start) + 1


def cpu_ticks() -> tuple[int, int]:
    """(CPU ticks used by every process but this one, CPU ticks elapsed) since boot, over
    all cores; (0, 0) where /proc is missing (not Linux), so that all counts as quiet."""
    try:
        with open("/proc/stat") as stat:
            ticks = [int(field) for field in stat.readline().split()[1:]]
        with open("/proc/self/stat") as own:
            fields = own.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    busy = sum(ticks) - ticks[3] - ticks[4]  # all but idle and iowait
    return busy - int(fields[11]) - int(fields[12]), sum(ticks)  # minus our user, system time


def _seconds(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def matmul_peak(dtype: type, size: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of a large square np.matmul on every thread of the run: the ceiling for
    GEMM-based code on this machine (cnnref.set_threads keeps BLAS itself on one thread,
    its blocks taking the others)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size)).astype(dtype) for _ in range(2))
    with blas_controller().limit(limits=cnnref.get_threads(), user_api="blas"):
        a @ b
        best = min(_seconds(lambda: a @ b) for _ in range(repeats))
    return 2 * size**3 / best / 1e9


# --- cases -------------------------------------------------------------------------------


def conv_case(ops, name: str, n: int, c: int, o: int, size: int, dtype: type) -> Case:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, c, size, size)).astype(dtype)
    w = (rng.standard_normal((o, c, 3, 3)) / np.sqrt(9 * c)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    dy = rng.standard_normal((n, o, size, size)).astype(dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tdy = torch.tensor(dy)

    def run_cnnref():
        ops.conv2d(x, w, b, padding=1)
        return ops.conv2d_backward(dy, x, w, b, padding=1)

    def run_torch():
        y = F.conv2d(tx, tw, tb, padding=1)
        return torch.autograd.grad(y, (tx, tw, tb), tdy)

    # forward, dL/dX and dL/dW each cost one multiply-add per (output, tap, input channel).
    flops = 3 * 2 * n * o * size * size * c * 9
    return Case(name, dtype, flops, run_cnnref, run_torch)


def conv_transpose_cases(
    ops, name: str, n: int, c: int, o: int, size: int, dtype: type
) -> list[Case]:
    """Two rows, the forward alone and the backward alone: a decoder runs the forward at
    inference, and the backward is where the transposed convolution's bookkeeping lies."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((n, c, size, size)).astype(dtype)
    w = (rng.standard_normal((c, o, 3, 3)) / np.sqrt(9 * c)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype)
    dy = rng.standard_normal((n, o, 2 * size, 2 * size)).astype(dtype)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    tdy = torch.tensor(dy)
    geometry = CONV_TRANSPOSE_GEOMETRY

    def torch_forward():
        with torch.no_grad():
            return F.conv_transpose2d(tx, tw, tb, **geometry)

    # The backward alone: one graph, kept, whose gradients each call computes again.
    ty = F.conv_transpose2d(tx, tw, tb, **geometry)

    def torch_backward():
        return torch.autograd.grad(ty, (tx, tw, tb), tdy, retain_graph=True)

    # Each input pixel meets each tap and output channel once: one multiply-add each, in the
    # forward, in dL/dX and in dL/dW.
    flops = 2 * n * c * size * size * o * 9
    return [
        Case(
            f"{name} fwd",
            dtype,
            flops,
            lambda: ops.conv_transpose2d(x, w, b, **geometry),
            torch_forward,
        ),
        Case(
            f"{name} bwd",
            dtype,
            2 * flops,
            lambda: ops.conv_transpose2d_backward(dy, x, w, b, **geometry),
            torch_backward,
        ),
    ]


def pool_case(ops, name: str, shape: tuple[int, ...], dtype: type) -> Case:
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal((*shape[:2], shape[2] // 2, shape[3] // 2)).astype(dtype)
    tx, tdy = torch.tensor(x, requires_grad=True), torch.tensor(dy)

    def run_cnnref():
        ops.max_pool2d(x, 2)
        return ops.max_pool2d_backward(dy, x, 2)

    def run_torch():
        y = F.max_pool2d(tx, 2)
        return torch.autograd.grad(y, (tx,), tdy)

    return Case(name, dtype, None, run_cnnref, run_torch)


def avg_pool_case(ops, name: str, shape: tuple[int, ...], geometry: dict, dtype: type) -> Case:
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape).astype(dtype)
    dy = rng.standard_normal(ops.avg_pool2d(x, **geometry).shape).astype(dtype)
    tx, tdy = torch.tensor(x, requires_grad=True), torch.tensor(dy)

    def run_cnnref():
        ops.avg_pool2d(x, **geometry)
        return ops.avg_pool2d_backward(dy, x, **geometry)

    def run_torch():
        y = F.avg_pool2d(tx, **geometry)
        return torch.autograd.grad(y, (tx,), tdy)

    return Case(name, dtype, None, run_cnnref, run_torch)


def mnist_cnn(dtype: type) -> Sequential:
    """The MNIST CNN of the benchmark: conv 1->32, relu, pool 2, conv 32->64, relu, pool 2,
    dense 3136->10 (cnnref.train's small CNN, widened), He-initialised."""
    return Sequential.from_spec(small_cnn(channels=(32, 64)), np.random.default_rng(3), dtype)


def training_step_case(dtype: type) -> Case:
    """One SGD step (momentum 0.9) of the MNIST CNN with softmax cross-entropy, batch 64,
    in cnnref.train and in its torch.nn twin with the same weights."""
    rng = np.random.default_rng(3)
    images = rng.random((MNIST_BATCH, 1, 28, 28)).astype(dtype)
    labels = rng.integers(0, 10, MNIST_BATCH)
    model = mnist_cnn(dtype)
    optimizer = SGD(model.parameters(), lr=0.01)
    twin = torch_twin(model).to(torch.float32 if dtype == np.float32 else torch.float64)
    twin_optimizer = torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9)
    timages, tlabels = torch.tensor(images), torch.tensor(labels)

    def run_cnnref():
        _, dlogits = softmax_cross_entropy(model.forward(images), labels)
        model.backward(dlogits)
        optimizer.step()

    def run_torch():
        twin_optimizer.zero_grad()
        F.cross_entropy(twin(timages), tlabels).backward()
        twin_optimizer.step()

    # conv1 needs no dL/dX in training (torch skips it; cnnref.train's layer computes it).
    flops = 2 * MNIST_BATCH * (2 * 32 * 28 * 28 * 9 + 3 * 64 * 14 * 14 * 32 * 9 + 3 * 3136 * 10)
    name = f"MNIST CNN train step b{MNIST_BATCH}"
    return Case(name, dtype, flops, run_cnnref, run_torch)


# --- memory ------------------------------------------------------------------------------


def traced_peak(run: Callable[[], object]) -> int:
    """Peak bytes allocated (as tracemalloc sees them) while ``run`` runs."""
    run()  # first call outside the trace: imports and caches
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - baseline


def memory_report(ops) -> list[str]:
    lines = []
    for dtype in DTYPES if ops is cnnref else ():  # cnnref.train runs the public functions
        step = training_step_case(dtype)
        images = np.random.default_rng(5).random((MNIST_BATCH, 1, 28, 28)).astype(dtype)
        activations = 0
        for layer in mnist_cnn(dtype).layers:
            images = layer.forward(images)
            activations += images.nbytes
        peak = traced_peak(step.run_cnnref)
        lines.append(
            f"| MNIST CNN train step b{MNIST_BATCH} | {np.dtype(dtype).name} | {_mib(peak)} "
            f"| {_mib(activations)} | {peak / activations:.1f}x |"
        )
    for dtype in DTYPES:
        name, n, c, o, size = CONV_LAYERS[-1]
        case = conv_case(ops, name, n, c, o, size, dtype)
        peak = traced_peak(case.run_cnnref)
        activations = (n * c + n * o) * size * size * np.dtype(dtype).itemsize
        lines.append(
            f"| {name} fwd+bwd | {np.dtype(dtype).name} | {_mib(peak)} | {_mib(activations)} "
            f"| {peak / activations:.1f}x |"
        )
    return lines


def _mib(nbytes: float) -> str:
    return f"{nbytes / 2**20:.1f} MiB"


# --- report ------------------------------------------------------------------------------


def all_cases(ops) -> list[Case]:
    cases = []
    for dtype in DTYPES:
        cases += [conv_case(ops, *layer, dtype) for layer in CONV_LAYERS]
        cases += [pool_case(ops, *layer, dtype) for layer in POOL_LAYERS]
        cases += [avg_pool_case(ops, *layer, dtype) for layer in AVG_POOL_LAYERS]
        for layer in CONV_TRANSPOSE_LAYERS:
            cases += conv_transpose_cases(ops, *layer, dtype)
        if ops is cnnref:  # cnnref.train runs the public (fast) functions
            cases.append(training_step_case(dtype))
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--literal", action="store_true", help="time the literal form instead")
    parser.add_argument("--quick", action="store_true", help="1 repeat per block instead of 3")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls per block")
    parser.add_argument(
        "--only",
        metavar="TEXT",
        default=None,
        help="time only the cases whose name contains TEXT (no memory report)",
    )
    parser.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        default=all_cores(),
        help="threads for both libraries: cnnref.set_threads(N) (its blocks and NumPy's BLAS) "
        "and torch.set_num_threads(N) (default: every core this process may use)",
    )
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    ops = literal if args.literal else cnnref

    threads = args.threads
    cnnref.set_threads(threads)
    torch.set_num_threads(threads)
    peaks = {dtype: matmul_peak(dtype) for dtype in DTYPES}
    openblas_env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")}
    print(f"cnnref form: {'literal' if args.literal else 'public (fast)'}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"numpy {np.__version__}, torch {torch.__version__}, threads {threads} (both)")
    print(f"OPENBLAS environment: {openblas_env or 'none'}")
    print(
        "matmul peak (2048^3): "
        + ", ".join(f"{np.dtype(d).name} {p:.0f} GFLOP/s" for d, p in peaks.items())
    )
    print(f"per call: median of {repeats} calls in the best of 5 blocks (2 warm-up calls each)\n")
    print("| case | dtype | cnnref ms | torch ms | ratio | cnnref GFLOP/s | % of peak |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    step_seconds, disturbed_blocks = {}, 0
    cases = [case for case in all_cases(ops) if args.only is None or args.only in case.name]
    if not cases:
        parser.error(f"--only {args.only!r} matches no case")
    for case in cases:
        ours, theirs, disturbed = median_times(case, repeats, warmup=2)
        disturbed_blocks += disturbed
        if case.flops is None:
            rate = share = "-"
        else:
            gflops = case.flops / ours / 1e9
            rate, share = f"{gflops:.0f}", f"{100 * gflops / peaks[case.dtype]:.0f}%"
        dtype_name = np.dtype(case.dtype).name
        print(
            f"| {case.name} | {dtype_name} | {ours * 1e3:.2f} | {theirs * 1e3:.2f} "
            f"| {ours / theirs:.2f} | {rate} | {share} |",
            flush=True,
        )
        if case.name.startswith("MNIST"):
            step_seconds[dtype_name] = ours
    for dtype_name, seconds in step_seconds.items():
        print(
            f"\nFashion-MNIST epoch ({FASHION_MNIST_STEPS} steps of {MNIST_BATCH}), {dtype_name}: "
            f"{seconds * FASHION_MNIST_STEPS:.1f} s (median step time x steps)",
            end="",
        )
    if args.only is None:
        print("\n\n| peak memory | dtype | traced peak | activations | peak / activations |")
        print("| --- | --- | ---: | ---: | ---: |")
        for line in memory_report(ops):
            print(line)
    report_machine_drift(peaks)
    if disturbed_blocks:
        print(f"WARNING: other jobs used the cores during {disturbed_blocks} of the timed blocks.")
    return 0


def report_machine_drift(peaks: dict[type, float], tolerance: float = 0.15) -> None:
    """Measure the matmul peak again: if it fell, something else took the cores meanwhile."""
    again = {dtype: matmul_peak(dtype) for dtype in peaks}
    print(
        "\nmatmul peak at the end: "
        + ", ".join(f"{np.dtype(d).name} {p:.0f} GFLOP/s" for d, p in again.items())
    )
    if any(again[d] < (1 - tolerance) * peaks[d] for d in peaks):
        print("WARNING: the matmul peak fell during the run: the machine was busy; run again.")


if __name__ == "__main__":
    sys.exit(main())
