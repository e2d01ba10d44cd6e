"""The object an adapter builds: what cnnref imports as the candidate.

It exposes the functions it was given under cnnref's names, and the
declarations (``CNNREF_UNSUPPORTED``, ``CNNREF_CONVENTIONS``) of this object
alone, so the conv and the pool of one library can declare different things.
Bound to a module-level name, it is a candidate like any module:
``cnnref verify --impl pkg.mod:name`` or ``verify("pkg.mod:name")``, and
``verify(obj)`` finds that name itself.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

# Nothing of cnnref's judgement is imported here: this module runs in the candidate's process.
from ..ops import FUNCTIONS


class Adapted:
    """cnnref's functions (those an adapter could build) and this object's declarations."""

    def __init__(
        self,
        *,
        what: str,
        unsupported: Iterable[str] = (),
        conventions: object = None,
        **functions: Callable[..., Any] | None,
    ) -> None:
        unknown = sorted(set(functions) - set(FUNCTIONS))
        if unknown:
            raise TypeError(
                f"{what}: {', '.join(unknown)} is no op of cnnref; "
                f"its functions: {', '.join(FUNCTIONS)}"
            )
        if not any(functions.values()):
            raise ValueError(f"{what}: give at least one function to adapt")
        for name, function in functions.items():
            if function is not None:
                setattr(self, name, function)
        # A mapping (declarations per function) is the verifier's to read; a set is frozen.
        self.CNNREF_UNSUPPORTED = (
            unsupported if isinstance(unsupported, Mapping) else frozenset(unsupported)
        )
        if conventions is not None:
            self.CNNREF_CONVENTIONS = conventions
        self.what = what
        # The module that built this object, so that the verifier can name it for the
        # candidate's process (target_of reads __module__ and __qualname__).
        self.__module__ = _caller_module()

    def __getattr__(self, name: str) -> Any:
        # Only asked for what the instance lacks: an instance has no __qualname__ of its own.
        if name == "__qualname__":
            bound = _bound_name(self)
            if bound:
                return bound
        raise AttributeError(name)

    def __repr__(self) -> str:
        exposed = ", ".join(name for name, value in vars(self).items() if callable(value))
        return f"<cnnref adapter: {self.what} ({exposed})>"


def _caller_module() -> str:
    """The module of the first frame outside cnnref.adapters: the user's."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        "cnnref.adapters"
    ):
        frame = frame.f_back
    return frame.f_globals.get("__name__", "__main__")


def _bound_name(adapted: Adapted) -> str | None:
    """The module-level name ``adapted`` is bound to in its module, if any."""
    module = sys.modules.get(vars(adapted).get("__module__", ""))
    for name, value in vars(module).items() if module else ():
        if value is adapted:
            return name
    return None
