"""The named properties a candidate is verified against, one verdict each."""

from __future__ import annotations

from . import conv, pool
from .base import Candidate, CandidateRaised, Evidence, Falsified, NotChecked, Property

PROPERTIES: tuple[Property, ...] = conv.PROPERTIES + pool.PROPERTIES
FUNCTIONS = ("conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward")


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
    "property_named",
]
