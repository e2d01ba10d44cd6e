"""Grade a class: every submission verified the same way, each in its own confined process.

``discover`` finds the submissions in a folder (one per subfolder or module);
``grade`` runs ``cnnref verify`` on each, ``jobs`` at a time, with the same
seed and settings, and keeps each one's reports in the output folder, where a
later run finds them and grades nothing twice; ``cnnref.grade.book`` writes the
gradebook from them.  See docs/grading.md.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..atomic import write_atomic

REPORT, PAGE, GRADED = "report.json", "report.html", "graded.json"
SETTINGS = "settings.json"
DEFAULT_SUBMISSION_TIMEOUT = 1800.0  # seconds one submission's whole verification may take


@dataclass(frozen=True)
class Submission:
    """One student's work, as ``cnnref verify`` is pointed at it."""

    name: str  # its folder's or module's name: the gradebook's row
    impl: str  # the --impl target
    cwd: str  # where verify runs: the import finds ``impl`` there
    own: str | None = None  # a submission folder, all of which it may read (its helpers)
    problem: str | None = None  # why it cannot be graded at all (it gets a row saying so)


@dataclass
class Graded:
    """What grading one submission gave: its exit status and where its reports are."""

    name: str
    status: str  # passed, failed, not loaded, timed out
    exit_code: int | None
    seconds: float
    folder: str
    message: str = ""
    graded_by: str = ""  # host/pid of the process that ran the verification
    report: dict = field(default_factory=dict)


def discover(folder: str | os.PathLike, module: str | None = None) -> list[Submission]:
    """Every submission in ``folder``: each subfolder, and each ``name.py`` beside them.

    In a subfolder the candidate is ``module`` if given, else the folder itself if it
    is a package (``__init__.py``), else its one Python file.
    """
    root = Path(folder).resolve()
    found = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")):
            continue
        if entry.is_file() and entry.suffix == ".py":
            found.append(_checked(Submission(entry.stem, entry.stem, str(root))))
        elif entry.is_dir():
            found.append(_in_folder(entry, module))
    return found


def _in_folder(entry: Path, module: str | None) -> Submission:
    name, own = entry.name, str(entry)
    if module:
        return _checked(Submission(name, module, own, own))
    if (entry / "__init__.py").is_file():
        return _checked(Submission(name, name, str(entry.parent), own))
    files = sorted(path.stem for path in entry.glob("*.py"))
    if len(files) == 1:
        return _checked(Submission(name, files[0], own, own))
    why = (
        f"{entry} holds {len(files)} Python files and no __init__.py: name the module with --module"
    )
    return Submission(name, "", own, own, problem=why)


def _checked(submission: Submission) -> Submission:
    module = submission.impl.partition(":")[0]
    if not all(part.isidentifier() for part in module.split(".")):
        why = f"{module!r} cannot be imported: a module's name must be a Python identifier"
        return Submission(**(asdict(submission) | {"problem": why}))
    return submission


def verify_command(submission: Submission, report_dir: Path, arguments: Iterable[str]) -> list[str]:
    """The ``cnnref verify`` command line that grades ``submission`` into ``report_dir``."""
    command = [sys.executable, "-m", "cnnref", "verify", "--impl", submission.impl]
    command += ["--json", str(report_dir / REPORT), "--report", str(report_dir / PAGE)]
    if submission.own:
        command += ["--allow-read", submission.own]
    return command + list(arguments)


def grade_one(submission: Submission, out: Path, arguments: list[str], time_limit: float) -> Graded:
    """Verify one submission in a process of its own; its reports go to ``out/name``."""
    folder = out / submission.name
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if submission.problem:
        return _finish(folder, submission, "not loaded", None, 0.0, submission.problem)
    package_root = str(Path(__file__).resolve().parents[2])
    environment = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    }
    process = subprocess.Popen(
        verify_command(submission, folder, arguments),
        cwd=submission.cwd,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, errors = process.communicate(timeout=time_limit)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        message = f"its verification took more than {time_limit:g} s (--submission-timeout)"
        return _finish(folder, submission, "timed out", None, time_limit, message)
    seconds = time.perf_counter() - start
    code = process.returncode
    status = {0: "passed", 1: "failed"}.get(code, "not loaded")
    lines = [line for line in errors.splitlines() if line.startswith("cnnref verify: error")]
    message = lines[-1].removeprefix("cnnref verify: error: ") if code not in (0, 1) else ""
    if code not in (0, 1) and not lines:
        message = f"cnnref verify ended with exit code {code}: {errors.strip()[-300:]}"
    return _finish(folder, submission, status, code, seconds, message)


def _finish(
    folder: Path,
    submission: Submission,
    status: str,
    code: int | None,
    seconds: float,
    message: str,
) -> Graded:
    """Record the outcome (atomically, last: its presence means this one is done)."""
    report_path = folder / REPORT
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    if not report:
        report = _empty_report(submission, message, folder)
    graded_by = f"{socket.gethostname()}/{os.getpid()}"
    graded = Graded(submission.name, status, code, seconds, str(folder), message, graded_by)
    write_atomic(folder / GRADED, json.dumps(asdict(graded), indent=1))
    graded.report = report
    return graded


def _empty_report(submission: Submission, message: str, folder: Path) -> dict:
    """The JSON and HTML reports of a submission verify could not report on itself."""
    from ..verify.cli import not_loaded_result, write_reports

    result = not_loaded_result(submission.impl or submission.name, message, {})
    write_reports(result, json_path=folder / REPORT, html_path=folder / PAGE)
    return json.loads((folder / REPORT).read_text())


def load_graded(folder: Path) -> Graded | None:
    """A submission graded by an earlier run, or None."""
    try:
        graded = Graded(**json.loads((folder / GRADED).read_text()))
        graded.report = json.loads((folder / REPORT).read_text())
    except (OSError, ValueError, TypeError):
        return None
    return graded


class SettingsChanged(ValueError):
    """The output folder holds grades made with other settings."""


def grade(
    submissions: list[Submission],
    out: str | os.PathLike,
    arguments: list[str],
    *,
    jobs: int = 1,
    time_limit: float = DEFAULT_SUBMISSION_TIMEOUT,
    on_done: Callable[[Graded, int, int], None] = lambda graded, done, total: None,
    scheduler: str | None = None,
) -> list[Graded]:
    """Grade each submission not graded yet in ``out``, ``jobs`` at a time; all, in order.

    ``arguments`` are the ``cnnref verify`` options every submission gets.  A folder
    graded before with other ``arguments`` is refused (SettingsChanged): its grades
    would not be comparable.  With ``scheduler`` (a Dask ``distributed`` scheduler's
    address, ``tcp://host:8786``) the cluster's workers grade them instead, each
    submission on one worker, which confines it there; the workers must see the
    submissions and ``out`` at the same paths (a shared filesystem).
    """
    out = Path(out).absolute()  # each submission's verify runs in a folder of its own
    out.mkdir(parents=True, exist_ok=True)
    settings = {"verify": arguments}
    settings_path = out / SETTINGS
    if settings_path.is_file():
        before = json.loads(settings_path.read_text())
        if before != settings:
            raise SettingsChanged(
                f"{out} was graded with other settings ({' '.join(before['verify'])}); "
                "grade into a new --out folder"
            )
    else:
        write_atomic(settings_path, json.dumps(settings, indent=1))
    results: dict[str, Graded] = {}
    pending = []
    for submission in submissions:
        earlier = load_graded(out / submission.name)
        if earlier is not None:
            results[submission.name] = earlier
        else:
            pending.append(submission)
    total, done = len(submissions), len(results)
    graded_ones = (
        _on_cluster(pending, out, arguments, time_limit, scheduler)
        if scheduler
        else _on_this_machine(pending, out, arguments, time_limit, jobs)
    )
    for graded in graded_ones:
        results[graded.name] = graded
        done += 1
        on_done(graded, done, total)
    return [results[submission.name] for submission in submissions]


def _on_this_machine(
    pending: list[Submission], out: Path, arguments: list[str], time_limit: float, jobs: int
) -> Iterator[Graded]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(grade_one, submission, out, arguments, time_limit) for submission in pending
        ]
        for future in as_completed(futures):
            yield future.result()


class ClusterUnavailable(RuntimeError):
    """--scheduler names no cluster this machine can use."""


SCHEDULER_TIMEOUT = 30.0  # seconds to reach the scheduler: Dask retries until then


def _on_cluster(
    pending: list[Submission], out: Path, arguments: list[str], time_limit: float, scheduler: str
) -> Iterator[Graded]:
    try:
        from distributed import Client
        from distributed import as_completed as finished
    except ImportError:
        raise ClusterUnavailable(
            "--scheduler needs Dask's distributed: pip install 'cnnref[distributed]'"
        ) from None
    try:
        client = Client(scheduler, timeout=SCHEDULER_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise ClusterUnavailable(f"cannot reach the scheduler at {scheduler}: {error}") from None
    with client:
        futures = [
            client.submit(grade_one, submission, out, arguments, time_limit, pure=False)
            for submission in pending
        ]
        for future in finished(futures):
            yield future.result()
