"""Naming and importing a candidate: ``package.module`` or ``package.module:attr``."""

from __future__ import annotations

import importlib
import types


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
        ) from None
    for part in filter(None, attribute.split(".")):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise CandidateLoadError(
                f"{target!r}: {module_name} has no attribute {attribute!r}"
            ) from None
    return found
