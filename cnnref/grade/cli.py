"""``cnnref grade SUBMISSIONS``: verify every submission in a folder, the same way, into a gradebook.

Exit status: 0 when every submission was graded (whatever their verdicts), 2 on misuse.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from ..checks import FUNCTIONS, PROPERTIES
from ..cli import positive_float, positive_int
from ..ops import GROUPS
from ..sandbox import options as fence_options
from ..verify.runner import DEFAULT_EXAMPLES
from . import (
    DEFAULT_SUBMISSION_TIMEOUT,
    ClusterUnavailable,
    Graded,
    SettingsChanged,
    discover,
    grade,
)
from .book import read_weights, write_gradebook

EXIT_GRADED, EXIT_USAGE = 0, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "grade",
        help="verify every submission in a folder into a gradebook",
        description=(
            "Verify each submission in SUBMISSIONS (one per subfolder or module) with the same "
            "seed and settings, each in its own confined process, and write a gradebook: "
            "gradebook.csv, each submission's JSON, HTML and Gradescope results.json, and a "
            "class page, index.html.  A stopped run resumes where it stopped.  Exit status: 0 "
            "every submission graded, 2 usage error."
        ),
    )
    parser.add_argument("submissions", type=Path, metavar="SUBMISSIONS", help="the class's folder")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("gradebook"),
        metavar="DIR",
        help="the gradebook's folder (default: ./gradebook); grades already there are kept",
    )
    parser.add_argument(
        "--jobs", "-j", type=positive_int, default=1, metavar="N", help="submissions at a time"
    )
    parser.add_argument(
        "--module",
        metavar="NAME",
        help="the module to import in each subfolder (default: the folder as a package, or "
        "its one Python file)",
    )
    parser.add_argument(
        "--weights",
        type=Path,
        metavar="FILE",
        help="JSON object of property or function name -> points (default: 1 per property)",
    )
    parser.add_argument(
        "--examples",
        type=positive_int,
        default=DEFAULT_EXAMPLES,
        metavar="N",
        help=f"examples per property (default: {DEFAULT_EXAMPLES})",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="the seed every submission gets (default: 0)",
    )
    parser.add_argument(
        "--timeout", type=positive_float, metavar="S", help="seconds one candidate call may take"
    )
    parser.add_argument(
        "--submission-timeout",
        type=positive_float,
        default=DEFAULT_SUBMISSION_TIMEOUT,
        metavar="S",
        help=f"seconds one submission's whole verification may take (default: "
        f"{DEFAULT_SUBMISSION_TIMEOUT:g})",
    )
    parser.add_argument(
        "--ops",
        nargs="+",
        choices=[*FUNCTIONS, *GROUPS],
        metavar="OP",
        help="functions to check, as cnnref verify --ops",
    )
    parser.add_argument(
        "--property",
        action="append",
        dest="properties",
        choices=[prop.name for prop in PROPERTIES],
        metavar="NAME",
        help="check only this property (repeatable)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="grade on a Dask distributed cluster, e.g. tcp://host:8786 (its workers must see "
        "SUBMISSIONS and --out at the same paths); --jobs is then the cluster's",
    )
    fence_options.add_options(parser)
    parser.set_defaults(run=run)


def verify_arguments(args: argparse.Namespace) -> list[str]:
    """The ``cnnref verify`` options every submission is graded with."""
    arguments = ["--seed", str(args.seed), "--examples", str(args.examples)]
    if args.timeout:
        arguments += ["--timeout", f"{args.timeout:g}"]
    if args.ops:
        arguments += ["--ops", *args.ops]
    for name in args.properties or ():
        arguments += ["--property", name]
    return arguments + fence_options.as_arguments(fence_options.chosen(args))


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    if not args.submissions.is_dir():
        print(f"cnnref grade: error: {args.submissions} is not a folder", file=err)
        return EXIT_USAGE
    try:
        weights = read_weights(args.weights) if args.weights else None
    except ValueError as error:
        print(f"cnnref grade: error: {error}", file=err)
        return EXIT_USAGE
    submissions = discover(args.submissions, args.module)
    if not submissions:
        print(f"cnnref grade: error: {args.submissions} holds no submission", file=err)
        return EXIT_USAGE
    progress = ProgressBar(err)
    try:
        book = grade(
            submissions,
            args.out,
            verify_arguments(args),
            jobs=args.jobs,
            time_limit=args.submission_timeout,
            on_done=progress.update,
            scheduler=args.scheduler,
        )
    except (SettingsChanged, ClusterUnavailable) as error:
        print(f"cnnref grade: error: {error}", file=err)
        return EXIT_USAGE
    progress.close()
    summary = write_gradebook(book, args.out, weights)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary["statuses"].items()))
    print(f"graded {len(book)} submissions ({counts}): {args.out / 'index.html'}", file=out)
    return EXIT_GRADED


class ProgressBar:
    """On a terminal, one bar redrawn as submissions finish; elsewhere a line per submission."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def update(self, graded: Graded, done: int, total: int) -> None:
        if self.live:
            filled = self.WIDTH * done // total
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(f"\r[{bar}] {done}/{total} {graded.name[:30]:30s}")
        else:
            self.stream.write(
                f"[{done}/{total}] {graded.name}: {graded.status} ({graded.seconds:.1f} s)\n"
            )
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
