"""``cnnref verify``: the CI gate.  Exit 0 when every property holds, 1 when one fails, 2 on misuse."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from ..cli import (
    cpu_seconds,
    memory_size,
    module_list,
    output_file,
    positive_float,
    positive_int,
)
from ..declarations import conventions_summary
from ..ops import GROUPS, OPS
from ..properties import FUNCTIONS, PROPERTIES, Property
from ..results import PropertyResult, Status, VerificationResult
from ..sandbox.process import DEFAULT_CPU_SECONDS, DEFAULT_MEMORY, QUIET_WHEN_IDLE
from . import CandidateLoadError, Progress, SelectionError, verify
from .candidate import DEFAULT_CANDIDATE, Command
from .runner import DEFAULT_EXAMPLES, DEFAULT_TIMEOUT

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
    parser.add_argument(
        "--ops",
        nargs="+",
        choices=[*FUNCTIONS, *GROUPS],
        metavar="OP",
        help=f"functions to check: {', '.join(FUNCTIONS)}, or an op's group, "
        f"{' / '.join(GROUPS)} (default: all it exposes)",
    )
    parser.add_argument(
        "--property",
        action="append",
        dest="properties",
        metavar="NAME",
        choices=[p.name for p in PROPERTIES],
        help="check only this property (repeatable); see --list",
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
        metavar="S",
        help="seed for a reproducible run (default: derandomized under CI=true, "
        "otherwise random with the example database in .hypothesis/)",
    )
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32", "float16", "bfloat16"),
        default=None,
        help="pin the dtype of the inputs (default: all four, drawn per example, but those "
        "the candidate declares unsupported)",
    )
    parser.add_argument(
        "--timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds one candidate call may take (default: {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--memory",
        type=memory_size,
        default=DEFAULT_MEMORY,
        metavar="SIZE",
        help=f"address space the candidate's process may use, e.g. 2G or 512M, or 'none' "
        f"(default: {DEFAULT_MEMORY >> 30}G)",
    )
    parser.add_argument(
        "--cpu-time",
        dest="cpu_seconds",
        type=cpu_seconds,
        default=DEFAULT_CPU_SECONDS,
        metavar="S",
        help="CPU seconds the candidate's process may use in all, or 'none' (default: none; "
        "--timeout bounds each call)",
    )
    parser.add_argument(
        "--forbid",
        type=module_list,
        default=(),
        metavar="MODULES",
        help="comma-separated modules the candidate may not import, e.g. torch,jax,scipy,cnnref "
        "(a fence against shortcuts, not a boundary against native code)",
    )
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
    parser.add_argument(
        "-x", "--exitfirst", action="store_true", help="stop at the first failed property"
    )
    parser.add_argument("--list", action="store_true", help="list the properties and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
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
            examples=args.examples,
            seed=args.seed,
            dtype=args.dtype,
            timeout=args.timeout,
            memory=args.memory,
            cpu_seconds=args.cpu_seconds,
            forbid=args.forbid,
            exitfirst=args.exitfirst,
            progress=ProgressPrinter(err),
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


class ProgressPrinter(Progress):
    """One line per property; on a terminal it counts examples as they run."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()

    def start(self, prop: Property) -> None:
        if self.live:
            self.stream.write(f"  {prop.name:46s} ...")
            self.stream.flush()

    def example(self, prop: Property, count: int) -> None:
        if self.live:
            self.stream.write(f"\r  {prop.name:46s} {count:5d} examples")
            self.stream.flush()

    def finish(self, result: PropertyResult) -> None:
        line = f"  {result.name:46s} {result.status:12s} {result.examples:5d} examples {result.seconds:6.1f} s"
        self.stream.write(("\r" if self.live else "") + line + "\n")
        self.stream.flush()


def summary_table(result: VerificationResult) -> str:
    rows = [f"{'property':46s} {'status':12s} {'examples':>8s} {'worst/tol':>10s} {'time':>7s}"]
    for p in result.properties:
        rows.append(
            f"{p.name:46s} {p.status:12s} {p.examples:8d} {_worst_column(p):>10s} {p.seconds:6.1f}s"
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
    rows.append(
        f"{verdict}: {result.candidate}: {counts[Status.PASSED]} passed, {failed} failed, "
        f"{counts[Status.NOT_COVERED]} not covered{not_run}, in {result.seconds:.1f} s"
    )
    return "\n".join(rows)


def _worst_column(result: PropertyResult) -> str:
    """Worst error / tolerance; for a failure, the failing example's, or what went wrong."""
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
