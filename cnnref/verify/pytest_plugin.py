"""pytest plugin: cnnref's properties as test items, and one report for the whole session.

* ``--cnnref-impl MODULE[:ATTR]`` (or ``cnnref_impl`` in the ini file) adds
  one test item per property, checked against that candidate;
  ``--cnnref-command CMD`` does the same for a program in any language that
  speaks docs/protocol.md.
* ``--cnnref-report PATH`` writes a report (``.json``, ``.html`` or ``.xml``
  JUnit) of every verification the session ran: those items, and every
  ``verify`` / ``assert_verified`` call made inside tests.  Under
  pytest-xdist each worker sends its results to the controller, which
  writes one merged report.

Heavy imports wait until a session asks for cnnref, so that installing
cnnref costs other pytest runs nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pytest

from ..cli import memory_size, module_list, positive_float, positive_int, unwritable
from ..results import Status
from ..sandbox.process import DEFAULT_MEMORY, DEFAULT_TIMEOUT
from ..sandbox.target import Command

DEFAULT_EXAMPLES = 100
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
        "--cnnref-examples",
        type=positive_int,
        default=None,
        metavar="N",
        help=f"examples per property (default: {DEFAULT_EXAMPLES})",
    )
    group.addoption(
        "--cnnref-dtype",
        choices=("float64", "float32", "float16", "bfloat16"),
        default=None,
        help="pin the dtype of the inputs (default: all four, drawn per example)",
    )
    group.addoption(
        "--cnnref-timeout",
        type=positive_float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help="seconds one candidate call may take",
    )
    group.addoption(
        "--cnnref-memory",
        type=memory_size,
        default=DEFAULT_MEMORY,
        metavar="SIZE",
        help="address space of the candidate's process, e.g. 2G, or 'none' (default: 8G)",
    )
    group.addoption(
        "--cnnref-forbid",
        type=module_list,
        default=(),
        metavar="MODULES",
        help="comma-separated modules the candidate may not import, e.g. torch,scipy,cnnref",
    )
    group.addoption(
        "--cnnref-seed",
        type=int,
        default=None,
        metavar="S",
        help="seed (default: derandomized under CI=true, else random with the example database)",
    )
    group.addoption(
        "--cnnref-report",
        action="append",
        default=[],
        metavar="PATH",
        help="write a report of the session's cnnref verifications: PATH ending in .json, .html or .xml",
    )
    parser.addini("cnnref_impl", "candidates to verify, one per line", type="linelist", default=[])
    parser.addini("cnnref_examples", "examples per property", default="")


def pytest_configure(config: pytest.Config) -> None:
    reports = config.getoption("cnnref_report")
    for path in reports:
        problem = unwritable(Path(path))
        if not path.endswith((".json", ".html", ".xml")):
            problem = "the file name must end in .json, .html or .xml"
        if problem:
            raise pytest.UsageError(f"--cnnref-report {path}: {problem}")
    _examples(config)  # a bad ini value is a usage error now, not a failed item later
    if _targets(config):
        # Import the candidates as `python -m pytest` and `cnnref verify` would: from the
        # directory pytest was started in (the `pytest` script does not put it on the path).
        invocation = str(config.invocation_params.dir)
        if invocation not in sys.path:
            sys.path.insert(0, invocation)
    for command in config.getoption("cnnref_command"):
        try:
            Command(command)
        except ValueError as error:
            raise pytest.UsageError(f"--cnnref-command {command!r}: {error}") from None
    state = _SessionState(config)
    config.stash[STATE] = state
    if reports or _targets(config):
        from . import result_listeners

        result_listeners.append(state.record)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.listening:
        from . import result_listeners

        result_listeners.remove(state.record)


def _targets(config: pytest.Config) -> list[str]:
    """Every candidate named: modules, then commands."""
    return [
        *config.getoption("cnnref_impl"),
        *config.getini("cnnref_impl"),
        *config.getoption("cnnref_command"),
    ]


def _examples(config: pytest.Config) -> int:
    """--cnnref-examples, else the ini's cnnref_examples, else the default."""
    given = config.getoption("cnnref_examples")
    if given is not None:
        return given
    text = config.getini("cnnref_examples")
    try:
        return int(positive_int(text)) if text else DEFAULT_EXAMPLES
    except argparse.ArgumentTypeError as error:
        raise pytest.UsageError(f"cnnref_examples = {text} (ini file): {error}") from None


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list
) -> None:
    targets = _targets(config)
    if not targets:
        return
    from . import select_properties

    commands = config.getoption("cnnref_command")
    for target in targets:
        command = Command(target) if target in commands else None
        for prop in select_properties():
            name = f"cnnref[{target}]::{prop.name}"
            items.append(
                PropertyItem.from_parent(
                    session, name=name, nodeid=name, target=target, prop=prop, command=command
                )
            )


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
        from ..sandbox.process import Limits
        from . import verify
        from .candidate import CandidateLoadError, IsolatedCandidate

        config = self.config
        limits = Limits(
            timeout=config.getoption("cnnref_timeout"),
            memory=config.getoption("cnnref_memory"),
            forbid=config.getoption("cnnref_forbid"),
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
            examples=_examples(config),
            seed=config.getoption("cnnref_seed"),
            dtype=config.getoption("cnnref_dtype"),
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
    from ..report.json_report import report_dict

    reports = [report_dict(result) for result in state.results] + state.worker_reports
    if hasattr(config, "workeroutput"):  # a pytest-xdist worker: hand results to the controller
        config.workeroutput["cnnref_reports"] = reports
        return
    paths = config.getoption("cnnref_report")
    if paths:
        from ..report import merge_reports, write_report

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
