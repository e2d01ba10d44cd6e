"""``cnnref verify``: the CI gate.  Exit 0 when every property holds, 1 when one fails, 2 on misuse."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from ..cli import output_file
from ..ops import FUNCTIONS, OPS
from .options import DEFAULT_CANDIDATE, RUN_OPTIONS, SELECTION_OPTIONS, run_options

if TYPE_CHECKING:
    from ..properties import Property
    from ..results import PropertyResult, VerificationResult

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help=f"check an implementation of {' / '.join(OPS)} against every property",
        description=(
            f"Check the {', '.join(FUNCTIONS)} functions a module exposes against cnnref's "
            "reference, finite differences, SciPy, PyTorch and algebraic laws, on geometries "
            "Hypothesis draws.  Exit status: 0 all properties hold, 1 some property failed, "
            "2 usage error."
        ),
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--impl",
        default=DEFAULT_CANDIDATE,
        metavar="MODULE[:ATTR]",
        help="the candidate: a module, or an object in it (default: cnnref itself)",
    )
    which.add_argument(
        "--command",
        metavar="CMD",
        help="the candidate is a program in any language that speaks docs/protocol.md on "
        "stdin/stdout, e.g. --command './conv_server --threads 1'",
    )
    for option in (*SELECTION_OPTIONS, *RUN_OPTIONS):
        option.add_to_cli(parser)
    parser.add_argument(
        "--json",
        type=output_file,
        metavar="PATH",
        help="write the JSON report here (schema: docs/report-schema.md)",
    )
    parser.add_argument(
        "--report",
        type=output_file,
        metavar="PATH",
        help="write the self-contained HTML report here",
    )
    parser.add_argument(
        "--junit",
        type=output_file,
        metavar="PATH",
        help="write JUnit XML here, one test case per property",
    )
    parser.add_argument("--list", action="store_true", help="list the properties and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    from ..properties import PROPERTIES
    from ..sandbox.process import QUIET_WHEN_IDLE
    from . import CandidateLoadError, SelectionError, verify
    from .candidate import Command

    # The verifier's own PyTorch (imported later, by the torch properties) takes turns with the
    # candidate's process: its idle threads should sleep, not spin (see sandbox.process).
    for name, value in QUIET_WHEN_IDLE.items():
        os.environ.setdefault(name, value)
    # Import --impl as `python -m` would: the current directory first on the path.
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    if args.list:
        for prop in PROPERTIES:
            print(f"{prop.name:46s} {prop.summary}", file=out)
        return EXIT_PASSED
    try:
        candidate = Command(args.command) if args.command is not None else args.impl
    except ValueError as error:  # an empty command, unbalanced quotes
        print(f"cnnref verify: error: --command {args.command!r}: {error}", file=err)
        return EXIT_USAGE
    try:
        result = verify(
            candidate,
            ops=args.ops,
            properties=args.properties,
            progress=ProgressPrinter(err),
            **run_options(vars(args)),
        )
    except (CandidateLoadError, SelectionError) as error:
        print(f"cnnref verify: error: {error}", file=err)
        return EXIT_USAGE
    print(summary_table(result), file=out)
    if not result.passed:
        print("\n" + result.explain(), file=out)
    try:
        write_reports(result, json_path=args.json, html_path=args.report, junit_path=args.junit)
    except OSError as error:  # checked before the run, so the disk filled or the folder went
        print(f"cnnref verify: error: cannot write the report: {error}", file=err)
        return EXIT_USAGE
    return EXIT_PASSED if result.passed else EXIT_FAILED


def write_reports(
    result: VerificationResult, *, json_path=None, html_path=None, junit_path=None
) -> None:
    """Write whichever reports were asked for, each atomically."""
    if not (json_path or html_path or junit_path):
        return
    from ..report import report_dict
    from ..report.html_report import write_html
    from ..report.json_report import write_json_dict
    from ..report.junit_report import write_junit

    report = report_dict(result)
    for path, write in (
        (json_path, write_json_dict),
        (html_path, write_html),
        (junit_path, write_junit),
    ):
        if path:
            write(report, path)


class ProgressPrinter:
    """One line per property; on a terminal it counts examples as they run.

    With -j the properties of several workers report in turn: each live line
    replaces the one before, whichever property it was about.
    """

    CLEAR = "\r\x1b[K"  # back to the line's start, and erase it

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def start(self, prop: Property) -> None:
        if self.live:
            self.stream.write(f"{self.CLEAR}  {prop.name:46s} ...")
            self.stream.flush()

    def example(self, prop: Property, count: int) -> None:
        if self.live:
            self.stream.write(f"{self.CLEAR}  {prop.name:46s} {count:5d} examples")
            self.stream.flush()

    def finish(self, result: PropertyResult) -> None:
        line = f"  {result.name:46s} {result.status:12s} {result.examples:5d} examples {result.seconds:6.1f} s"
        self.stream.write((self.CLEAR if self.live else "") + line + "\n")
        self.stream.flush()


def summary_table(result: VerificationResult) -> str:
    from ..declarations import conventions_summary
    from ..results import Status

    rows = [
        f"{'property':46s} {'status':12s} {'examples':>8s} {'worst/tol':>10s} {'time':>7s}  "
        + " ".join(f"{heading:>10s}" for heading in TIME_HEADINGS.values())
    ]
    for p in result.properties:
        rows.append(
            f"{p.name:46s} {p.status:12s} {p.examples:8d} {_worst_column(p):>10s} {p.seconds:6.1f}s  "
            + _time_columns(p.time_split)
        )
        rows += [f"    {reason}" for reason in p.not_covered if not reason.startswith("not drawn")]
    declared = result.settings.get("unsupported") or []
    if declared:
        rows.append(
            f"not drawn (declared unsupported, where the function has it): {', '.join(declared)}"
        )
    conventions = conventions_summary((p.function, p.conventions) for p in result.properties)
    if conventions:
        rows.append(conventions)
    counts = {
        status: sum(p.status == status for p in result.properties)
        for status in (Status.PASSED, Status.NOT_COVERED)
    }
    failed = len(result.properties) - counts[Status.PASSED] - counts[Status.NOT_COVERED]
    verdict = (
        "PASSED" if result.passed else "FAILED" if result.checked else "FAILED (nothing checked)"
    )
    not_run = (
        f", {len(result.not_run)} not run (stopped at the first failure)" if result.not_run else ""
    )
    totals = {
        part: sum(p.time_split.get(part, 0.0) for p in result.properties) for part in TIME_HEADINGS
    }
    rows.append(
        "time over the properties: "
        + ", ".join(f"{heading} {totals[part]:.1f} s" for part, heading in TIME_HEADINGS.items())
    )
    rows.append(
        f"{verdict}: {result.candidate}: {counts[Status.PASSED]} passed, {failed} failed, "
        f"{counts[Status.NOT_COVERED]} not covered{not_run}, in {result.seconds:.1f} s"
    )
    return "\n".join(rows)


# The parts of a property's time (PropertyResult.time_split), as the summary heads them.
TIME_HEADINGS = {
    "candidate": "candidate",
    "round_trips": "round trips",
    "checks": "checks",
    "hypothesis": "hypothesis",
}


def _time_columns(split: dict[str, float]) -> str:
    return " ".join(
        f"{split[part]:9.1f}s" if part in split else f"{'-':>10s}" for part in TIME_HEADINGS
    )


def _worst_column(result: PropertyResult) -> str:
    """Worst error / tolerance; for a failure, the failing example's, or what went wrong."""
    from ..results import Status

    if result.failure is not None:
        worst = result.failure.worst
        return (
            f"{worst.ratio:.2g}" if worst is not None and worst.ratio > 1 else result.failure.kind
        )
    return (
        "-"
        if result.worst is None or result.status != Status.PASSED
        else f"{result.worst.ratio:.2g}"
    )
