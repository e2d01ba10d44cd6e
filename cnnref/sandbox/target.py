"""Naming a candidate: ``package.module`` or ``package.module:attr`` to import, or a
``Command``, a program in any language that speaks the protocol (docs/protocol.md)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import shlex
import shutil
import traceback
import types
from collections.abc import Callable, Sequence


class CandidateLoadError(Exception):
    """The candidate cannot be imported or exposes nothing to check (a usage error)."""


class Command:
    """A candidate in any language: a program that answers cnnref's requests on stdin/stdout.

    ``Command("./conv_server --threads 1")`` or ``Command(["./conv_server", "--threads", "1"])``.
    A string is split as a POSIX shell would (no variables, globs or pipes).  The program
    runs in a private working directory: its path is resolved from the current directory
    (or ``PATH``) when it starts, and other file arguments should be absolute.
    """

    def __init__(self, command: str | Sequence[str]) -> None:
        argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command]
        if not argv:
            raise ValueError("a command candidate needs a program to run; got an empty command")
        self.argv: tuple[str, ...] = tuple(argv)

    def __str__(self) -> str:
        return shlex.join(self.argv)

    def __repr__(self) -> str:
        return f"Command({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Command) and other.argv == self.argv

    def __hash__(self) -> int:
        return hash(self.argv)

    def resolved(self) -> list[str]:
        """The argv to execute, its program as an absolute path; CandidateLoadError if the
        program is not there or cannot be executed."""
        program = self.argv[0]
        found = os.path.abspath(program) if os.sep in program else shutil.which(program)
        if found is None or not os.path.exists(found):
            where = f"(looked for {found})" if os.sep in program else "on PATH"
            if os.sep not in program and os.path.exists(program):
                where += f" (for the one in this directory, write ./{program})"
            raise CandidateLoadError(
                f"command {str(self)!r}: program {program!r} not found {where}"
            )
        if os.path.isdir(found) or not os.access(found, os.X_OK):
            raise CandidateLoadError(
                f"command {str(self)!r}: {found} is not an executable file (chmod +x, or build it)"
            )
        return [found, *self.argv[1:]]


def target_of(candidate: object) -> str:
    """The string naming ``candidate``: ``module[:attr]`` for a string, module, or importable
    object; the command line for a ``Command``."""
    if isinstance(candidate, str):
        return candidate
    if isinstance(candidate, Command):
        return str(candidate)
    if isinstance(candidate, types.ModuleType):
        return candidate.__name__
    module, qualname = (
        getattr(candidate, "__module__", None),
        getattr(candidate, "__qualname__", None),
    )
    if module and qualname and "<locals>" not in qualname:
        return f"{module}:{qualname}"
    raise TypeError(
        f"cannot name {candidate!r} for the process that runs candidates: pass a module, "
        "an importable object, a 'module:attr' string, or isolate=False to run it in this process"
    )


def import_target(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    try:
        found: object = importlib.import_module(module_name)
    except (Exception, SystemExit) as error:  # any import-time failure is the candidate's
        raise CandidateLoadError(
            f"cannot import {module_name!r}: {type(error).__name__}: {error}"
            f"{_raised_at(error, module_name)}{_fence_hint(error)}"
        ) from None
    for part in filter(None, attribute.split(".")):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise CandidateLoadError(
                f"{target!r}: {module_name} has no attribute {attribute!r}"
            ) from None
    return found


def _fence_hint(error: BaseException) -> str:
    """What to do when the import read a file the fence keeps out: a module candidate may
    read its own file, not the modules beside it."""
    if not isinstance(error, PermissionError) or not error.filename:
        return ""
    folder = os.path.dirname(os.path.abspath(str(error.filename)))
    return (
        f". The fence lets a candidate read only its own module or package and the Python"
        f" installation; if it needs this file, make its files one package (a folder with"
        f" __init__.py), or let it read this folder"
        f" with --allow-read {folder} (--cnnref-allow-read in pytest)"
    )


def _raised_at(error: BaseException, module_name: str) -> str:
    """Where an import failed, as " (at FILE, line N)": the last frame of the traceback in the
    candidate's own files (its module, or its top-level package), else the last outside
    Python's import machinery ("" if none).  A SyntaxError names its file and line itself."""
    if isinstance(error, SyntaxError):
        return ""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith("<") and frame.filename != __file__
    ]
    own = _own_files(module_name)
    frames = [frame for frame in frames if own(frame.filename)] or frames
    return f" (at {frames[-1].filename}, line {frames[-1].lineno})" if frames else ""


def _own_files(module_name: str) -> Callable[[str], bool]:
    """Whether a file is the candidate's: its top-level package's folder, or its module."""
    try:
        spec = importlib.util.find_spec(module_name.partition(".")[0])
    except (Exception, SystemExit):
        spec = None
    if spec is None or not spec.origin or not os.path.isabs(spec.origin):
        return lambda filename: False
    if spec.submodule_search_locations:  # a package: every file in its folder
        folder = os.path.dirname(spec.origin) + os.sep
        return lambda filename: filename.startswith(folder)
    return lambda filename: filename == spec.origin
