"""pytest plugin: cnnref's properties as test items, and one report for the whole session.

* ``--cnnref-impl MODULE[:ATTR]`` (or ``cnnref_impl`` in the ini file) adds
  one test item per property, checked against that candidate;
  ``--cnnref-command CMD`` does the same for a program in any language that
  speaks docs/protocol.md.
* ``--cnnref-ops conv,max_pool2d`` keeps those functions' items (or ops' groups).
* ``--cnnref-report PATH`` writes a report (``.json``, ``.html`` or ``.xml``
  JUnit) of every verification the session ran: those items, and every
  ``verify`` / ``assert_verified`` call made inside tests.  Under
  pytest-xdist each worker sends its results to the controller, which
  writes one merged report.

The verifier (Hypothesis, the checks, PyTorch) loads when a session asks for cnnref, so that
installing cnnref costs other pytest runs next to nothing; the plugin and its options table
(``cnnref.options``) sit outside ``cnnref.verify`` so that loading them does not load it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from .cli import report_problem
from .options import RUN_OPTIONS
from .results import Status
from .sandbox.target import Command

# The run options a test item takes from the command line or the ini file; -x, --ff and
# --lf are pytest's own, and -j is xdist's (-n).
PLUGIN_OPTIONS = tuple(option for option in RUN_OPTIONS if option.plugin)
STATE = pytest.StashKey["_SessionState"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("cnnref", "verification of convolution and pooling implementations")
    group.addoption(
        "--cnnref-impl",
        action="append",
        default=[],
        metavar="MODULE[:ATTR]",
        help="check this candidate against every cnnref property, one test item each (repeatable)",
    )
    group.addoption(
        "--cnnref-command",
        action="append",
        default=[],
        metavar="CMD",
        help="check this program (any language, speaking docs/protocol.md) against every "
        "cnnref property, one test item each (repeatable)",
    )
    group.addoption(
        "--cnnref-ops",
        action="append",
        default=[],
        metavar="OPS",
        help="only these functions, or ops' groups (conv, pool, ...), comma-separated "
        "(repeatable; default: all)",
    )
    for option in PLUGIN_OPTIONS:
        option.add_to_pytest(group, parser)
    group.addoption(
        "--cnnref-report",
        action="append",
        default=[],
        metavar="PATH",
        help="write a report of the session's cnnref verifications: PATH ending in .json, .html or .xml",
    )
    _add_grader_options(group)
    parser.addini("cnnref_impl", "candidates to verify, one per line", type="linelist", default=[])


def _add_grader_options(group) -> None:
    """The fences' openings and --strict/--require, as ``cnnref verify`` has them."""
    from .sandbox.options import OPTIONS

    for name, settings in OPTIONS:
        group.addoption(f"--cnnref-{name}", **settings)


def pytest_configure(config: pytest.Config) -> None:
    reports = config.getoption("cnnref_report")
    for path in reports:
        problem = report_problem(Path(path))
        if problem:
            raise pytest.UsageError(f"--cnnref-report {path}: {problem}")
    run_settings(config)  # a bad ini value is a usage error now, not a failed item later
    _selected(config)
    # Import candidates as `python -m pytest` and `cnnref verify` would: from the directory
    # pytest was started in (the `pytest` script does not put it on the path), for the plugin's
    # items and for verify() calls in tests alike.  First when a candidate is named, so that it
    # is the one in that directory; otherwise last, where it hides no module another test imports.
    invocation = str(config.invocation_params.dir)
    if invocation not in sys.path:
        if _targets(config):
            sys.path.insert(0, invocation)
        else:
            sys.path.append(invocation)
    for command in config.getoption("cnnref_command"):
        try:
            Command(command)
        except ValueError as error:
            raise pytest.UsageError(f"--cnnref-command {command!r}: {error}") from None
    state = _SessionState(config)
    config.stash[STATE] = state
    if reports or _targets(config):
        from .verify import result_listeners

        result_listeners.append(state.record)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.listening:
        from .verify import result_listeners

        result_listeners.remove(state.record)


def _targets(config: pytest.Config) -> list[str]:
    """Every candidate named: modules, then commands."""
    return [
        *config.getoption("cnnref_impl"),
        *config.getini("cnnref_impl"),
        *config.getoption("cnnref_command"),
    ]


def _selected(config: pytest.Config) -> list:
    """The properties --cnnref-ops selects (every property without it); a usage error if an
    op is unknown."""
    ops = [op.strip() for given in config.getoption("cnnref_ops") for op in given.split(",")]
    if not _targets(config):
        return []
    from .verify import select_properties

    try:
        return select_properties([op for op in ops if op] or None)
    except ValueError as error:
        raise pytest.UsageError(f"--cnnref-ops: {error}") from None


def run_settings(config: pytest.Config) -> dict:
    """``verify``'s keyword arguments from the plugin's options (command line, ini, default)."""
    try:
        return {option.key: option.from_pytest(config) for option in PLUGIN_OPTIONS}
    except ValueError as error:
        raise pytest.UsageError(str(error)) from None


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list
) -> None:
    commands = config.getoption("cnnref_command")
    for target in _targets(config):
        collector = CandidateCollector.from_parent(
            session,
            name=f"cnnref[{target}]",
            nodeid=f"cnnref[{target}]",
            target=target,
            command=Command(target) if target in commands else None,
        )
        # Reported as collected, as a file's tests are: the terminal's counts ("collected N
        # items / M deselected / K selected") include these items.
        report = session.ihook.pytest_make_collect_report(collector=collector)
        session.ihook.pytest_collectreport(report=report)
        items.extend(report.result)


class CandidateCollector(pytest.Collector):
    """One candidate's property items."""

    def __init__(self, *, target: str, command: Command | None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target, self.command = target, command

    def collect(self) -> list:
        return [
            PropertyItem.from_parent(
                self,
                name=prop.name,
                nodeid=f"{self.nodeid}::{prop.name}",
                target=self.target,
                prop=prop,
                command=self.command,
            )
            for prop in _selected(self.config)
        ]


class PropertyFailed(Exception):
    def __init__(self, result) -> None:
        super().__init__(result.name)
        self.result = result


class PropertyItem(pytest.Item):
    """One cnnref property, checked against one candidate."""

    def __init__(self, *, target: str, prop, command: Command | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.prop = prop
        self.command = command

    def runtest(self) -> None:
        result = self.config.stash[STATE].run(self.target, self.prop, self.command)
        if result.status == Status.NOT_COVERED:
            pytest.skip("not covered: " + "; ".join(result.not_covered))
        if not result.passed:
            raise PropertyFailed(result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, PropertyFailed):
            return excinfo.value.result.explain()
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, self.name


class _SessionState:
    """Candidates' processes, and every verification result of the session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.listening = bool(config.getoption("cnnref_report") or _targets(config))
        self.results: list = []  # VerificationResult, in the order they finished
        self.worker_reports: list[dict] = []  # from pytest-xdist workers
        self._candidates: dict = {}

    def record(self, result) -> None:
        self.results.append(result)

    def run(self, target: str, prop, command: Command | None = None):
        """``verify`` of one property, in the target's process (started once per session)."""
        from .sandbox.options import LIMITS_OPTIONS, chosen
        from .sandbox.process import Limits
        from .verify import verify
        from .verify.candidate import CandidateLoadError, IsolatedCandidate

        config = self.config
        grader = chosen(config.option, prefix="cnnref_")
        settings = run_settings(config)
        limits = Limits(
            timeout=settings.pop("timeout"),
            memory=settings.pop("memory"),
            cpu_seconds=settings.pop("cpu_seconds"),
            forbid=settings.pop("forbid"),
            **{name: grader[name] for name in LIMITS_OPTIONS},
        )
        if target not in self._candidates:
            try:
                self._candidates[target] = IsolatedCandidate(target, limits, command).start()
            except CandidateLoadError as error:
                option = "--cnnref-command" if command else "--cnnref-impl"
                raise pytest.UsageError(f"{option} {target}: {error}") from None
        verified = verify(  # the session records it, as it does every verify call
            self._candidates[target],
            properties=[prop.name],
            strict=grader["strict"],
            require=grader["require"],
            jobs=1,
            **settings,
        )
        return verified.properties[0]

    def close(self) -> None:
        for candidate in self._candidates.values():
            candidate.close()
        self._candidates.clear()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE, None)
    if state is None:
        return
    state.close()
    if not state.results and not state.worker_reports:
        return
    from .report.json_report import report_dict

    reports = [report_dict(result) for result in state.results] + state.worker_reports
    if hasattr(config, "workeroutput"):  # a pytest-xdist worker: hand results to the controller
        config.workeroutput["cnnref_reports"] = reports
        return
    paths = config.getoption("cnnref_report")
    if paths:
        from .report import merge_reports, write_report

        merged = merge_reports(reports)
        for path in paths:
            write_report(merged, path)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist: a worker finished; keep the cnnref results it sent."""
    state = node.config.stash.get(STATE, None)
    if state is not None:
        state.worker_reports.extend(getattr(node, "workeroutput", {}).get("cnnref_reports", []))


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    for path in config.getoption("cnnref_report"):
        if not hasattr(config, "workeroutput"):
            terminalreporter.write_line(f"cnnref report: {path}")
