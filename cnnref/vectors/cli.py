"""``cnnref vectors OUT_DIR``: write the golden corpus.  Exit 0 written, 1 failed, 2 misuse."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..ops import FUNCTIONS
from .corpus import DEFAULT_SWEEP, VectorsError, check_destination, iter_files, write_corpus

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "vectors",
        help="write golden vectors (.npy and a JSON manifest) for tests in any language",
        description=(
            f"Write a versioned corpus of {', '.join(FUNCTIONS)} cases, in float64, float32, "
            "float16 and bfloat16, into OUT_DIR: .npy inputs, expected outputs and "
            "per element tolerances, and manifest.json describing each case (docs/vectors.md). "
            "Expected outputs are the reference's, cross-checked against PyTorch when it is "
            "installed.  Exit status: 0 written, 1 the reference disagrees with PyTorch, "
            "2 usage error."
        ),
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="a new or empty directory")
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        default=0,
        metavar="S",
        help="seed of the sweep cases (default: 0)",
    )
    parser.add_argument(
        "--sweep",
        type=non_negative_int,
        default=DEFAULT_SWEEP,
        metavar="N",
        help=f"seeded cases of each op after the named ones (default: {DEFAULT_SWEEP})",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace OUT_DIR if it holds an earlier corpus"
    )
    parser.set_defaults(run=run)


def non_negative_int(text: str) -> int:
    """An argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0; got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    try:
        check_destination(args.out_dir, force=args.force)
    except VectorsError as error:
        return _error(str(error), EXIT_USAGE)
    started = time.perf_counter()
    try:
        manifest = write_corpus(args.out_dir, args.seed, args.sweep, force=args.force)
    except VectorsError as error:
        return _error(str(error), EXIT_FAILED)
    files = list(iter_files(manifest))
    size = sum((args.out_dir / entry["file"]).stat().st_size for entry in files)
    checked = manifest["cross_checked_with"] or "nothing (PyTorch is not installed)"
    print(
        f"wrote {len(manifest['cases'])} cases, {len(files)} files ({size / 1e6:.2f} MB) to "
        f"{args.out_dir} in {time.perf_counter() - started:.1f} s; cross-checked with {checked}"
    )
    return EXIT_OK


def _error(message: str, status: int) -> int:
    print(f"cnnref vectors: error: {message}", file=sys.stderr)
    return status
