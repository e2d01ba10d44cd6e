"""Training speed and accuracy: cnnref's reference layers next to the same network in PyTorch CPU.

    python benchmarks/bench_training.py profile              # one training step, layer by layer
    python benchmarks/bench_training.py fashion --epochs 3   # Fashion-MNIST, both frameworks
    python benchmarks/bench_training.py fashion --channels 32 64   # a wider network
    python benchmarks/bench_training.py generalisation       # the default recipe, and PyTorch's
    python benchmarks/bench_training.py generalisation --split writers   # the tuning split

``generalisation`` trains ``cnnref train``'s default recipe and a PyTorch
network of the same shape (conv 32 and 64, 128 hidden units) trained as
PyTorch users commonly do (whole-pixel shifts of up to 2, 15 epochs), from
the same initial weights on the same digits, and tests both on the same
split (docs/training.md: the held-out split, or the writers split the recipe
was tuned on).

Both use the same thread count (``--threads N``, by default the CPUs this
process may run on: cnnref.set_threads(N) and torch.set_num_threads(N)), the same architecture (cnnref's default
small CNN), the same initial weights, the same batches and the same Adam
schedule, so only the layer implementations differ.  A script, not a test:
it asserts nothing and its figures go in the README.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

import cnnref
from cnnref.cli import positive_int
from cnnref.train.cli import DEFAULTS
from cnnref.train.datasets import Splits, load_splits, read_checksums, read_digits
from cnnref.train.loop import Run, TrainingConfig, network_input, train
from cnnref.train.model import Sequential, default_cnn, small_cnn

THREADS = len(os.sched_getaffinity(0))  # the default of --threads
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist


def torch_layer(spec: dict) -> torch.nn.Module:
    """The torch.nn layer a cnnref layer spec describes."""
    kind = spec["layer"]
    if kind == "conv2d":
        return torch.nn.Conv2d(
            spec["in_channels"], spec["out_channels"], spec["kernel_size"], padding=spec["padding"]
        )
    if kind == "dense":
        return torch.nn.Linear(spec["in_features"], spec["out_features"])
    if kind == "max_pool2d":
        return torch.nn.MaxPool2d(spec["kernel_size"])
    return {"relu": torch.nn.ReLU, "flatten": torch.nn.Flatten}[kind]()


def torch_twin(model: Sequential) -> torch.nn.Sequential:
    """The same layers in torch.nn, holding copies of ``model``'s weights."""
    twins = []
    for layer in model.layers:
        twin = torch_layer(layer.spec())
        with torch.no_grad():
            for name, parameter in layer.parameters().items():
                getattr(twin, name).copy_(torch.from_numpy(parameter.value))
        twins.append(twin)
    return torch.nn.Sequential(*twins)


def describe(spec: dict) -> str:
    """``conv2d 1->8 k3 p1``: a layer spec in a few characters."""
    if spec["layer"] == "conv2d":
        return (
            f"conv2d {spec['in_channels']}->{spec['out_channels']} "
            f"k{spec['kernel_size']} p{spec['padding']}"
        )
    if spec["layer"] == "dense":
        return f"dense {spec['in_features']}->{spec['out_features']}"
    if spec["layer"] == "max_pool2d":
        return f"max_pool2d {spec['kernel_size']}"
    return spec["layer"]


def best_ms(function, repeats: int) -> float:
    """The fastest of ``repeats`` calls: on a shared machine, the one least disturbed."""
    function()  # warm up
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return 1000 * min(times)


def layer_cases(model: Sequential, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """(input, dL/doutput) for every layer of ``model`` on the batch ``x``."""
    rng = np.random.default_rng(1)
    cases = []
    for layer in model.layers:
        output = layer.forward(x)
        cases.append((x, rng.standard_normal(output.shape).astype(np.float32)))
        x = output
    return cases


def cnnref_times(
    layer, x: np.ndarray, dy: np.ndarray, repeats: int, first: bool
) -> tuple[float, float]:
    """As a training step runs it: the first layer computes no dL/dx (``need_dx=False``)."""
    forward = best_ms(lambda: layer.forward(x), repeats)
    backward = best_ms(
        lambda: (layer.backward_parameters if first else layer.backward)(dy), repeats
    )
    return forward, backward


def torch_times(
    layer, x: np.ndarray, dy: np.ndarray, repeats: int, first: bool
) -> tuple[float, float]:
    """As autograd runs it: no gradient for the images, which do not require one."""
    leaf = torch.from_numpy(x).requires_grad_(not first)
    torch_dy = torch.from_numpy(dy)
    wanted = [*([] if first else [leaf]), *layer.parameters()]

    def forward() -> None:
        with torch.no_grad():
            layer(leaf)

    def forward_and_backward() -> None:
        if wanted:
            torch.autograd.grad(layer(leaf), wanted, torch_dy)
        else:
            layer(leaf)

    forward_ms = best_ms(forward, repeats)
    return forward_ms, best_ms(forward_and_backward, repeats) - forward_ms


def profile(batch_size: int, repeats: int, channels: tuple[int, int]) -> None:
    """Forward and backward time of every layer for one batch, cnnref next to torch.

    All cnnref timings come first, then all torch ones: interleaved, OpenBLAS threads still
    spinning after a NumPy call would steal the cores torch's threads wait for.
    """
    model = Sequential.from_spec(small_cnn(channels), np.random.default_rng(0))
    twin = torch_twin(model)
    x = np.random.default_rng(2).random((batch_size, 1, 28, 28), dtype=np.float32)
    cases = layer_cases(model, x)
    firsts = [index == 0 for index in range(len(cases))]
    ours = [
        cnnref_times(layer, *case, repeats, first)
        for layer, case, first in zip(model.layers, cases, firsts)
    ]
    theirs = [
        torch_times(layer, *case, repeats, first) for layer, case, first in zip(twin, cases, firsts)
    ]

    print(f"one training step, batch {batch_size}, float32, {THREADS} threads, best of {repeats}")
    print(
        "| layer | cnnref forward ms | cnnref backward ms | torch forward ms | torch backward ms |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for layer, times in zip(model.layers, np.hstack([ours, theirs])):
        print(f"| {describe(layer.spec())} | " + " | ".join(f"{t:.2f}" for t in times) + " |")
    totals = np.hstack([ours, theirs]).sum(axis=0)
    print("| **all layers** | " + " | ".join(f"{t:.2f}" for t in totals) + " |")
    ratio = (totals[0] + totals[1]) / (totals[2] + totals[3])
    print(f"cnnref / torch for the whole step: {ratio:.1f}x")


def train_torch(model: Sequential, splits, config: TrainingConfig) -> list[tuple[float, float]]:
    """Train ``model``'s torch twin on the batches cnnref's loop would draw; (seconds, accuracy)
    per epoch."""
    twin = torch_twin(model)
    optimizer = torch.optim.Adam(twin.parameters(), lr=config.lr)
    digits, results = splits.train, []
    for epoch in range(config.epochs):
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate(epoch)
        order = np.random.default_rng([config.seed, epoch]).permutation(len(digits))
        seconds = 0.0
        for step, start in enumerate(range(0, len(digits), config.batch_size)):
            began = time.perf_counter()
            chosen = order[start : start + config.batch_size]
            augment = np.random.default_rng([config.seed, epoch, step])
            x = np.ascontiguousarray(config.augment(network_input(digits.images[chosen]), augment))
            loss = torch.nn.functional.cross_entropy(
                twin(torch.from_numpy(x)), torch.from_numpy(digits.labels[chosen].astype(np.int64))
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            seconds += time.perf_counter() - began
        with torch.no_grad():
            logits = twin(torch.from_numpy(network_input(splits.test.images)))
        accuracy = float((logits.argmax(1).numpy() == splits.test.labels).mean())
        print(
            f"  torch  epoch {epoch + 1}: {seconds:6.1f} s, test accuracy {accuracy:.4f}",
            flush=True,
        )
        results.append((seconds, accuracy))
    return results


def fashion(data: Path, epochs: int, channels: tuple[int, int]) -> None:
    splits = load_splits(data)
    config = TrainingConfig(epochs=epochs)
    print(
        f"{data}: {splits.description}; {epochs} epochs, batch {config.batch_size}, {THREADS} threads"
    )
    run = Run.start(small_cnn(channels), config, len(splits.train))
    initial = Sequential.from_spec(small_cnn(channels), np.random.default_rng(config.seed))

    def report(run: Run, record) -> None:
        print(
            f"  cnnref epoch {record.epoch}: {record.seconds:6.1f} s, test accuracy {record.test_accuracy:.4f}",
            flush=True,
        )

    train(run, splits, on_epoch=report)
    torch_results = train_torch(initial, splits, config)
    ours = [(r.seconds, r.test_accuracy) for r in run.progress.history]
    print(
        "\n| epoch | cnnref s/epoch | PyTorch s/epoch | ratio | cnnref accuracy | PyTorch accuracy |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for epoch, ((s, a), (ts, ta)) in enumerate(zip(ours, torch_results), 1):
        print(f"| {epoch} | {s:.1f} | {ts:.2f} | {s / ts:.1f}x | {a:.4f} | {ta:.4f} |")
    # The median resists the odd epoch slowed by another process on a shared machine.
    median, torch_median = (statistics.median(s for s, _ in r) for r in (ours, torch_results))
    print(f"| median | {median:.1f} | {torch_median:.2f} | {median / torch_median:.1f}x | | |")


# The PyTorch network issue 23 compared with: cnnref's layer shapes at 32 and 64 channels and
# 128 hidden units, 15 epochs of whole-pixel shifts (no rotation, scaling, slant or strokes).
TORCH_RECIPE = TrainingConfig(epochs=15, lr=2e-3, lr_decay=0.85, max_shift=2)
TORCH_NETWORK = small_cnn((32, 64), hidden=128)


def writers_split(data: Path) -> Splits:
    """The split the default recipe was tuned on (docs/training.md): t10k digits 0-4,999
    (NIST SD-3 writers) to train, 5,000-7,999 (SD-1 writers) to test; never 8,000-9,999."""
    t10k = read_digits(data, "t10k", read_checksums(data))
    return Splits(
        t10k.part(slice(0, 5000)),
        t10k.part(slice(5000, 8000)),
        f"{data}: training on t10k digits 0-4,999, testing on 5,000-7,999 (the writers split)",
    )


def generalisation(data: Path, split: str) -> None:
    """The default ``cnnref train`` recipe and the PyTorch network above on one split, from the
    same initial weights where their shapes agree: accuracy at the end and seconds in all."""
    splits = load_splits(data) if split == "held-out" else writers_split(data)
    print(f"{splits.description}; {THREADS} thread(s)", flush=True)

    def report(run: Run, record) -> None:
        print(
            f"  cnnref epoch {record.epoch}: {record.seconds:6.1f} s, "
            f"test accuracy {record.test_accuracy:.4f}",
            flush=True,
        )

    began = time.perf_counter()
    run = Run.start(default_cnn(), DEFAULTS, len(splits.train))
    ours = train(run, splits, on_epoch=report).accuracy
    our_seconds = time.perf_counter() - began
    began = time.perf_counter()
    initial = Sequential.from_spec(TORCH_NETWORK, np.random.default_rng(TORCH_RECIPE.seed))
    theirs = train_torch(initial, splits, TORCH_RECIPE)[-1][1]
    their_seconds = time.perf_counter() - began
    print("\n| | epochs | test accuracy | seconds (training and each epoch's test) |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| cnnref, default recipe | {DEFAULTS.epochs} | {ours:.4f} | {our_seconds:.1f} |")
    print(
        f"| PyTorch, 32/64/128, shifts | {TORCH_RECIPE.epochs} | {theirs:.4f} "
        f"| {their_seconds:.1f} |"
    )


def main() -> None:
    global THREADS  # what the reports print
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    profiling = commands.add_parser("profile", help="time one training step layer by layer")
    profiling.add_argument("--batch-size", type=int, default=TrainingConfig().batch_size)
    profiling.add_argument("--repeats", type=int, default=20)
    fashion_mnist = commands.add_parser("fashion", help="train on Fashion-MNIST in both")
    fashion_mnist.add_argument("--data", type=Path, default=FASHION_DIR)
    fashion_mnist.add_argument("--epochs", type=int, default=3)
    generalising = commands.add_parser(
        "generalisation", help="the default recipe and PyTorch's, tested on one split"
    )
    generalising.add_argument("--data", type=Path, default=Path("../shared/data/mnist"))
    generalising.add_argument("--split", choices=("held-out", "writers"), default="held-out")
    generalising.add_argument("--threads", type=positive_int, default=THREADS)
    for command in (profiling, fashion_mnist):
        command.add_argument(
            "--channels", type=int, nargs=2, default=(8, 16), help="the two conv layers' widths"
        )
        command.add_argument(
            "--threads", type=positive_int, default=THREADS, help="threads for both libraries"
        )
    args = parser.parse_args()
    THREADS = args.threads
    cnnref.set_threads(THREADS)
    torch.set_num_threads(THREADS)
    if args.command == "profile":
        profile(args.batch_size, args.repeats, tuple(args.channels))
    elif args.command == "generalisation":
        generalisation(args.data, args.split)
    else:
        fashion(args.data, args.epochs, tuple(args.channels))


if __name__ == "__main__":
    main()
