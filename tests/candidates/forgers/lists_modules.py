"""Raises with the names of the heavy or judging modules loaded in its process."""

import sys

WATCHED = (
    "cnnref.reference",
    "cnnref.ops.",
    "cnnref.properties",
    "cnnref.checks",
    "cnnref.verify",
    "scipy",
    "torch",
    "hypothesis",
)


def conv2d(*args, **kwargs):
    loaded = sorted(name for name in sys.modules if name.startswith(WATCHED))
    raise RuntimeError(f"loaded: {loaded}")
