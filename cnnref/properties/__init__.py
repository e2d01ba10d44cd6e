"""The named properties a candidate is verified against, one verdict each.

Each op registers its own (``cnnref/ops/<op>/properties.py``, with ``claim``);
this package holds what they share: the property record and its registry
(``base``), comparison and tolerances (``compare``), the checks every
function's contract makes (``contract``) and the hint machinery (``hints``).
"""

from __future__ import annotations

import importlib

from ..ops import FUNCTIONS, OPS
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

for _op in OPS:
    importlib.import_module(f"cnnref.ops.{_op}.properties")
# Every property, an op's together in the order of cnnref.ops.OPS.
PROPERTIES: tuple[Property, ...] = tuple(
    sorted(REGISTERED, key=lambda prop: FUNCTIONS.index(prop.function) // 2)
)


def property_named(name: str) -> Property:
    for prop in PROPERTIES:
        if prop.name == name:
            return prop
    raise KeyError(f"no property named {name!r}; known: {[p.name for p in PROPERTIES]}")


__all__ = [
    "FUNCTIONS",
    "PROPERTIES",
    "Candidate",
    "CandidateRaised",
    "Evidence",
    "Falsified",
    "NotChecked",
    "Property",
    "claim",
    "property_named",
]
