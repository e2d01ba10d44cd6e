"""``cnnref train`` and ``cnnref evaluate``.

Exit status: 0 done, 1 a data or checkpoint file is wrong or MNIST could not be
downloaded, 2 usage error, 130 stopped by Ctrl-C or SIGTERM (after saving the
checkpoint, if --save).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ..cli import positive_float, positive_int, unwritable
from ..ops.threads import get_threads, set_threads
from .checkpoint import load_checkpoint, save_checkpoint
from .datasets import resolve_splits
from .errors import DataFileError
from .loop import EpochRecord, Run, TrainingConfig, evaluate_model, train
from .model import default_cnn
from .progress import ProgressBar, epoch_line
from .report import write_training_report

EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_STOPPED = 0, 1, 2, 130
# The default recipe, chosen on digits it is not tested on (docs/training.md): default_cnn;
# every digit turned, scaled, slanted and shifted a little, and half of them with thicker or
# thinner strokes; 10 epochs, the learning rate falling to a tenth by the last (0.75**9 = 0.075),
# so that the run takes about a minute on two cores, well inside the 2-minute budget.  TrainingConfig's own defaults stay the
# first recipe, which checkpoints saved before these fields existed were trained with.
DEFAULTS = TrainingConfig(
    epochs=10, lr=2e-3, lr_decay=0.75, max_shift=2, rotation=10.0, scale=0.1, shear=10.0,
    stroke=0.5,
)  # fmt: skip
# Settings a resumed run keeps from its checkpoint (only --epochs may change).
FIXED_ON_RESUME = {"batch_size": "--batch-size", "lr": "--lr", "seed": "--seed"}


def register(subparsers: argparse._SubParsersAction) -> None:
    trainer = subparsers.add_parser(
        "train",
        help="train a small CNN on MNIST with the reference layers",
        description=(
            "Train conv-relu-pool twice (32 and 64 channels), then two dense layers, on MNIST, "
            "using nothing but "
            "cnnref's reference conv2d and max_pool2d.  --data DIR reads the IDX files in DIR "
            "(train-* and t10k-*, or only t10k-*, of which the last fifth is held out); "
            "without it the MNIST files are read from the cache or downloaded."
        ),
    )
    _add_data_argument(trainer)
    trainer.add_argument(
        "--epochs",
        type=positive_int,
        metavar="N",
        help=f"epochs in all (default: {DEFAULTS.epochs})",
    )
    trainer.add_argument(
        "--batch-size", type=positive_int, metavar="B", help=f"default: {DEFAULTS.batch_size}"
    )
    trainer.add_argument(
        "--lr",
        type=positive_float,
        metavar="LR",
        help=f"initial Adam learning rate, times {DEFAULTS.lr_decay} each epoch "
        f"(default: {DEFAULTS.lr})",
    )
    trainer.add_argument("--seed", type=int, metavar="S", help=f"default: {DEFAULTS.seed}")
    trainer.add_argument(
        "--save", type=Path, metavar="MODEL.npz", help="checkpoint after every epoch and on stop"
    )
    trainer.add_argument(
        "--resume",
        type=Path,
        metavar="MODEL.npz",
        help="continue the run saved here (and save back to it unless --save says otherwise)",
    )
    trainer.add_argument("--report", type=Path, metavar="PATH.html", help="write the HTML report")
    trainer.add_argument(
        "--threads",
        type=positive_int,
        metavar="N",
        help="threads for the layers and NumPy's BLAS (default: the cores not busy with other "
        "work; the results are the same bits for any N)",
    )
    trainer.set_defaults(run=run_train)

    evaluator = subparsers.add_parser(
        "evaluate",
        help="test a saved model on the t10k digits",
        description=(
            "Evaluate MODEL.npz on the t10k pair in DIR (on its held-out last fifth when DIR "
            "has no train-* pair, as in training) and print 'accuracy: 0.xxxx' last."
        ),
    )
    evaluator.add_argument("model", type=Path, metavar="MODEL.npz")
    _add_data_argument(evaluator)
    evaluator.set_defaults(run=run_evaluate)


def _add_data_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="directory with the IDX files (default: the cache, downloading MNIST if needed)",
    )


def run_train(args: argparse.Namespace) -> int:
    try:
        previous = set_threads(args.threads) if args.threads is not None else None
    except RuntimeError as error:  # no threadpoolctl
        return _usage_error(f"--threads {args.threads}: {error}")
    try:
        return _train(args)
    except OSError as error:  # the paths were checked first: a disk filled, a folder went
        where = f"{error.filename}: " if error.filename else ""
        return _data_error(f"{where}{error.strerror or error}")
    finally:
        if args.threads is not None:
            set_threads(previous)  # as it was, for a caller that runs main() in its process


def _train(args: argparse.Namespace) -> int:
    save_path = args.save or args.resume
    for flag, path in (("--save", save_path), ("--report", args.report)):
        problem = path is not None and unwritable(path)
        if problem:
            return _usage_error(f"{flag} {path}: {problem}")
    try:
        splits = resolve_splits(args.data, log=_say)
        run = _resumed(args) if args.resume else _started(args, len(splits.train))
    except DataFileError as error:
        return _data_error(error)
    except _UsageError as error:
        return _usage_error(str(error))
    if run.train_size != len(splits.train):
        return _data_error(
            f"{args.resume} was trained on {run.train_size:,} images; "
            f"the data has {len(splits.train):,} to train on"
        )
    _say(f"data: {splits.description}")
    _say(f"threads: {get_threads()}" + ("" if args.threads else " (the free cores; --threads N)"))
    if args.resume:
        done = run.progress
        _say(f"resuming {args.resume} at epoch {done.epoch + 1}, batch {done.step + 1}")

    batches = -(-len(splits.train) // run.config.batch_size)
    bar = ProgressBar(sys.stderr, batches)

    def after_epoch(run: Run, record: EpochRecord) -> None:
        bar.clear()
        print(epoch_line(record, run.config.epochs), flush=True)
        if save_path is not None:
            save_checkpoint(save_path, run)

    began = time.perf_counter()
    with _stop_on_signal() as stop_requested:
        final = train(
            run, splits, on_batch=bar.update, on_epoch=after_epoch, should_stop=stop_requested
        )
    bar.clear()
    if not run.finished:
        return _stopped(run, save_path)
    final = final or evaluate_model(run.model, splits.test)
    seconds = time.perf_counter() - began
    _say(f"{len(run.progress.history)} epochs in all; this command trained for {seconds:.1f} s")
    if args.report is not None:
        write_training_report(args.report, run, splits.test, final, splits.description)
        _say(f"report: {args.report}")
    if save_path is not None:
        _say(f"model: {save_path}")
    print(f"accuracy: {final.accuracy:.4f}")
    return EXIT_OK


def run_evaluate(args: argparse.Namespace) -> int:
    try:
        run = load_checkpoint(args.model)
        splits = resolve_splits(args.data, log=_say)
    except DataFileError as error:
        return _data_error(error, command="evaluate")
    _say(f"data: {splits.description}; evaluating on the {len(splits.test):,} test images")
    result = evaluate_model(run.model, splits.test)
    print(f"loss: {result.loss:.4f}")
    print(f"accuracy: {result.accuracy:.4f}")
    return EXIT_OK


class _UsageError(Exception):
    pass


def _started(args: argparse.Namespace, train_size: int) -> Run:
    given = {k: v for k, v in _given_settings(args).items() if v is not None}
    return Run.start(default_cnn(), dataclasses.replace(DEFAULTS, **given), train_size)


def _resumed(args: argparse.Namespace) -> Run:
    run = load_checkpoint(args.resume)
    for name, flag in FIXED_ON_RESUME.items():
        value, kept = getattr(args, name), getattr(run.config, name)
        if value is not None and value != kept:
            raise _UsageError(
                f"{flag} {value} differs from the checkpoint's {kept}: a resumed run keeps its "
                "settings (only --epochs may change)"
            )
    if args.epochs is not None:
        run.config = dataclasses.replace(run.config, epochs=args.epochs)
    return run


def _given_settings(args: argparse.Namespace) -> dict:
    return {"epochs": args.epochs, **{name: getattr(args, name) for name in FIXED_ON_RESUME}}


@contextlib.contextmanager
def _stop_on_signal() -> Iterator[Callable[[], bool]]:
    """Turn the first Ctrl-C or SIGTERM into a request to stop at the next batch boundary
    (a second one interrupts at once)."""
    requested: list[int] = []

    def request(signum: int, frame: object) -> None:
        requested.append(signum)
        _say("stopping after this batch (again to abort)")
        signal.signal(signum, previous[signal.Signals(signum)])

    previous: dict[signal.Signals, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread: no handlers
            previous[signum] = signal.signal(signum, request)
    try:
        yield lambda: bool(requested)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _stopped(run: Run, save_path: Path | None) -> int:
    where = f"epoch {run.progress.epoch + 1}, batch {run.progress.step + 1}"
    if save_path is None:
        _say(f"stopped at {where}; nothing saved (no --save)")
    else:
        save_checkpoint(save_path, run)
        _say(f"stopped at {where}; saved {save_path}: continue with --resume {save_path}")
    return EXIT_STOPPED


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _data_error(error: Exception | str, command: str = "train") -> int:
    print(f"cnnref {command}: error: {error}", file=sys.stderr)
    return EXIT_DATA


def _usage_error(message: str, command: str = "train") -> int:
    print(f"cnnref {command}: error: {message}", file=sys.stderr)
    return EXIT_USAGE
