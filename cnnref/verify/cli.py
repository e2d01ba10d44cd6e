"""``cnnref verify``: the CI gate.  Exit 0 when every property holds, 1 when one fails, 2 on
misuse, 130 when interrupted (Ctrl-C)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from typing import TYPE_CHECKING, Any, TextIO, cast

from ..cli import report_file
from ..ops import FUNCTIONS, OPS
from ..options import (
    DEFAULT_CANDIDATE,
    DEFAULT_EXAMPLES,
    RUN_OPTIONS,
    SELECTION_OPTIONS,
    run_options,
)
from ..sandbox import options as fence_options

if TYPE_CHECKING:
    from ..checks import Property
    from ..results import PropertyResult, VerificationResult
    from . import Progress

EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command that Ctrl-C ended


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "verify",
        help=f"check an implementation of {' / '.join(OPS)} against every property",
        description=(
            f"Check the {', '.join(FUNCTIONS)} functions a module exposes against cnnref's "
            "reference, finite differences, SciPy, PyTorch and algebraic laws, on geometries "
            "Hypothesis draws.  Exit status: 0 all properties hold, 1 some property failed, "
            "2 usage error, 130 interrupted (Ctrl-C: the properties that finished are "
            "summarised, and the reports asked for are written with them)."
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
        type=report_file(".json"),
        metavar="PATH",
        help="write the JSON report here, a name ending in .json (schema: docs/report-schema.md)",
    )
    parser.add_argument(
        "--report",
        type=report_file(".html"),
        metavar="PATH",
        help="write the self-contained HTML report here, a name ending in .html",
    )
    parser.add_argument(
        "--junit",
        type=report_file(".xml"),
        metavar="PATH",
        help="write JUnit XML here, one test case per property, a name ending in .xml",
    )
    parser.add_argument("--list", action="store_true", help="list the properties and exit")
    fence_options.add_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from ..checks import PROPERTIES
    from ..sandbox.process import QUIET_WHEN_IDLE
    from . import CandidateLoadError, SelectionError, select_properties, verify
    from .candidate import Command

    # sys.stdout and sys.stderr as they are when called (redirect_stdout and pytest's capture
    # replace them), not as they were when this module was imported.
    out, err = out or sys.stdout, err or sys.stderr

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
    progress = None
    try:
        progress = ProgressPrinter(err, total=len(select_properties(args.ops, args.properties)))
        result = verify(
            candidate,
            ops=args.ops,
            properties=args.properties,
            progress=cast("Progress", progress),  # the same methods, without the import
            **run_options(vars(args)),
            **fence_options.chosen(args),
        )
    except CandidateLoadError as error:
        print(f"cnnref verify: error: {error}", file=err)
        not_loaded(candidate, error, args, err)
        return EXIT_USAGE
    except SelectionError as error:
        print(f"cnnref verify: error: {error}", file=err)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        partial_result = getattr(interrupt, "partial_result", None)
        if partial_result is None:
            print("cnnref verify: interrupted before any property ran", file=err)
            return EXIT_INTERRUPTED
        result = partial_result
    finally:
        if progress is not None:
            progress.close()
    for line in result.settings.get("fences_not_up", ()):
        print(f"cnnref verify: warning: fence not up: {line}", file=err)
    print(summary_table(result), file=out)
    if result.failures or not (result.passed or result.interrupted):
        print("\n" + result.explain(), file=out)
    try:
        write_reports(result, json_path=args.json, html_path=args.report, junit_path=args.junit)
    except OSError as error:  # checked before the run, so the disk filled or the folder went
        print(f"cnnref verify: error: cannot write the report: {error}", file=err)
        return EXIT_USAGE
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_PASSED if result.passed else EXIT_FAILED


def not_loaded(candidate: object, error: Exception, args: argparse.Namespace, err: TextIO) -> None:
    """The reports asked for, for a candidate that could not be loaded: why, and nothing checked."""
    settings = {"examples": args.examples, "seed": args.seed, "dtype": args.dtype}
    settings |= {"timeout": args.timeout} | fence_options.chosen(args)
    result = not_loaded_result(str(candidate), str(error), settings)
    try:
        write_reports(result, json_path=args.json, html_path=args.report, junit_path=args.junit)
    except OSError as problem:
        print(f"cnnref verify: error: cannot write the report: {problem}", file=err)


def not_loaded_result(candidate: str, reason: str, settings: dict) -> VerificationResult:
    """A result with no property, for a report that says why nothing was checked."""
    from ..results import VerificationResult
    from ..sandbox.process import DEFAULT_TIMEOUT
    from .environment import environment

    base: dict[str, Any] = {
        "examples": DEFAULT_EXAMPLES,
        "seed": None,
        "mode": "not loaded",
        "dtype": None,
    }
    base |= {"timeout": DEFAULT_TIMEOUT, "isolated": True, "unsupported": []}
    return VerificationResult(
        candidate, [], base | settings | {"load_error": reason}, environment(), 0.0
    )


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
    """Progress on ``stream``: on a terminal one live line, a bar of the properties done and the
    running property's examples, erased at the end so that only the results table stays; in a
    log (not a terminal) one line per property as it finishes."""

    BAR = 24  # characters

    def __init__(self, stream: TextIO, total: int) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.total, self.done = total, 0

    def start(self, prop: Property) -> None:
        self._show(prop.name, "")

    def example(self, prop: Property, count: int) -> None:
        self._show(prop.name, f"{count} examples")

    def finish(self, result: PropertyResult) -> None:
        self.done += 1
        if self.live:
            self._show(result.name, str(result.status))
            return
        line = f"  {result.name:46s} {result.status:12s} {result.examples:5d} examples {result.seconds:6.1f} s"
        self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Erase the live line (the results table follows)."""
        if self.live:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _show(self, name: str, detail: str) -> None:
        if not self.live:
            return
        filled = self.BAR * self.done // max(self.total, 1)
        bar = "#" * filled + "-" * (self.BAR - filled)
        text = f"[{bar}] {self.done}/{self.total} {name} {detail}".rstrip()
        width = shutil.get_terminal_size().columns - 1
        self.stream.write("\r\033[K" + text[:width])
        self.stream.flush()


def summary_table(result: VerificationResult) -> str:
    from ..declarations import conventions_summary
    from ..results import Status
    from .summary_lines import not_drawn_lines, unexposed, unexposed_lines

    rows = [
        f"{'property':46s} {'status':12s} {'examples':>8s} {'worst/tol':>10s} {'time':>7s}  "
        + " ".join(f"{heading:>10s}" for heading in TIME_HEADINGS.values())
    ]
    missing = unexposed(result.properties)
    for p in result.properties:
        if p.name in missing:
            continue
        rows.append(
            f"{p.name:46s} {p.status:12s} {p.examples:8d} {_worst_column(p):>10s} {p.seconds:6.1f}s  "
            + _time_columns(p.time_split)
        )
        rows += [f"    {reason}" for reason in p.not_covered if not reason.startswith("not drawn")]
    rows += [f"{name:46s} interrupted" for name in result.interrupted]
    rows += unexposed_lines(result.properties)
    rows += not_drawn_lines(result.properties)
    conventions = conventions_summary((p.function, p.conventions) for p in result.properties)
    if conventions:
        rows.append(conventions)
    counts = {
        status: sum(p.status == status for p in result.properties)
        for status in (Status.PASSED, Status.NOT_COVERED)
    }
    failed = len(result.properties) - counts[Status.PASSED] - counts[Status.NOT_COVERED]
    verdict = (
        "INTERRUPTED"
        if result.interrupted
        else "PASSED"
        if result.passed
        else "FAILED"
        if result.checked
        else "FAILED (nothing checked)"
    )
    why = "interrupted" if result.interrupted else "stopped at the first failure"
    not_run = f", {len(result.not_run)} not run ({why})" if result.not_run else ""
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
