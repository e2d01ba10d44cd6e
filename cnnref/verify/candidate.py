"""Finding and calling the implementation under test.

A candidate is named ``package.module`` or ``package.module:attr`` and
exposes any of the four functions, with cnnref's signatures.  It may list
features it does not support in ``CNNREF_UNSUPPORTED``; those are never drawn.
"""

from __future__ import annotations

import importlib
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..properties import FUNCTIONS, CandidateRaised
from ..strategies.geometries import check_features

DEFAULT_CANDIDATE = "cnnref"


class CandidateLoadError(Exception):
    """The candidate cannot be imported or exposes nothing to check (a usage error)."""


def target_of(candidate: object) -> str:
    """The ``module[:attr]`` string naming ``candidate`` (a string, module, or importable object)."""
    if isinstance(candidate, str):
        return candidate
    if isinstance(candidate, types.ModuleType):
        return candidate.__name__
    module, qualname = (
        getattr(candidate, "__module__", None),
        getattr(candidate, "__qualname__", None),
    )
    if module and qualname and "<locals>" not in qualname:
        return f"{module}:{qualname}"
    raise TypeError(
        f"cannot name {candidate!r} for the child process that runs candidates: pass a module, "
        "an importable object, a 'module:attr' string, or isolate=False to run it in this process"
    )


def import_target(target: str) -> object:
    module_name, _, attribute = target.partition(":")
    try:
        found: object = importlib.import_module(module_name)
    except Exception as error:  # any import-time failure is the candidate's
        raise CandidateLoadError(
            f"cannot import {module_name!r}: {type(error).__name__}: {error}"
        ) from error
    for part in filter(None, attribute.split(".")):
        try:
            found = getattr(found, part)
        except AttributeError as error:
            raise CandidateLoadError(
                f"{target!r}: {module_name} has no attribute {attribute!r}"
            ) from error
    return found


@dataclass
class LoadedCandidate:
    """A candidate's functions, called in this process.

    ``before_call`` and ``after_call`` let the child process report each call
    to the parent, which enforces the per-call time limit.
    """

    target: str
    functions: dict[str, Callable[..., Any]]
    unsupported: frozenset[str] = frozenset()
    before_call: Callable[[str], None] = field(default=lambda name: None, repr=False)
    after_call: Callable[[str], None] = field(default=lambda name: None, repr=False)

    @classmethod
    def from_object(cls, target: str, found: object) -> LoadedCandidate:
        functions = {
            name: getattr(found, name) for name in FUNCTIONS if callable(getattr(found, name, None))
        }
        if not functions:
            raise CandidateLoadError(f"{target!r} exposes none of {', '.join(FUNCTIONS)}")
        try:
            unsupported = check_features(getattr(found, "CNNREF_UNSUPPORTED", ()))
        except ValueError as error:
            raise CandidateLoadError(f"{target!r}: {error}") from error
        return cls(target, functions, unsupported)

    @classmethod
    def load(cls, target: str) -> LoadedCandidate:
        return cls.from_object(target, import_target(target))

    def has(self, function: str) -> bool:
        return function in self.functions

    def call(self, function: str, *args: Any, **kwargs: Any) -> Any:
        self.before_call(function)
        try:
            return self.functions[function](*args, **kwargs)
        except (Exception, SystemExit) as error:
            raise CandidateRaised(function, error, traceback.format_exc(limit=-4)) from None
        finally:
            self.after_call(function)
