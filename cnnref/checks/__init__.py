"""The machinery of checking: what every op's properties are built from.

A property is a named claim about one function of a candidate, with one
verdict.  Each op's ``properties.py`` (``cnnref/ops/<op>/properties.py``)
registers its properties; this package holds what they share: the property
record and its registry (``base``), comparison and tolerances (``compare``),
the checks every function's contract makes (``contract``), the properties
every op has, built from the op's spec (``standard``), and the hint machinery
(``hints``).  ``cnnref.properties`` is its former name, still importable.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ..ops import FUNCTIONS, OPS, op_of
from .base import (
    REGISTERED,
    Candidate,
    CandidateRaised,
    Evidence,
    Falsified,
    NotChecked,
    Property,
    claim,
)


def all_properties() -> tuple[Property, ...]:
    """Every property of every op, an op's together, in the order of ``cnnref.ops.OPS``.

    Each op's properties register as its module is imported; this imports them all
    first, whatever was imported before.
    """
    global _ordered
    for op in OPS:
        importlib.import_module(f"cnnref.ops.{op}.properties")
    if len(_ordered) == len(REGISTERED):  # nothing registered since: the list still holds
        return _ordered
    ops = list(OPS)
    ordered = tuple(sorted(REGISTERED, key=lambda prop: ops.index(op_of(prop.function))))
    missing = set(FUNCTIONS) - {prop.function for prop in ordered}
    if missing:
        raise RuntimeError(f"no property is registered for {sorted(missing)}")
    _ordered = ordered
    return ordered


# The last list all_properties built, returned again while no property registers since.
_ordered: tuple[Property, ...] = ()


def property_named(name: str) -> Property:
    properties = all_properties()
    for prop in properties:
        if prop.name == name:
            return prop
    raise KeyError(f"no property named {name!r}; known: {[p.name for p in properties]}")


if TYPE_CHECKING:  # what __getattr__ below returns, typed for type checkers and editors
    PROPERTIES: tuple[Property, ...]


# Hidden from type checkers, which then know exactly the names above and reject any other.
if not TYPE_CHECKING:

    def __getattr__(name: str):
        # PROPERTIES is built on first use, not at import: an op's property module may be
        # imported first, and register only after this package has loaded.
        if name == "PROPERTIES":
            return all_properties()
        raise AttributeError(f"module 'cnnref.checks' has no attribute {name!r}")


__all__ = [
    "FUNCTIONS",
    "PROPERTIES",
    "Candidate",
    "CandidateRaised",
    "Evidence",
    "Falsified",
    "NotChecked",
    "Property",
    "all_properties",
    "claim",
    "property_named",
]
