"""cnnref: a verified NumPy reference for 2-D convolution and pooling, and an oracle for yours."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ops import FUNCTIONS

# What __getattr__ below returns, named for type checkers and editors, which read imports
# rather than the registry (adding an op is its folder and its line in cnnref.ops.OPS).
if TYPE_CHECKING:
    from .ops.threads import get_threads, set_threads
if TYPE_CHECKING:  # written by scripts/derived.py from the registry
    from .reference import (
        adaptive_avg_pool2d,
        adaptive_avg_pool2d_backward,
        adaptive_max_pool2d,
        adaptive_max_pool2d_backward,
        avg_pool2d,
        avg_pool2d_backward,
        conv2d,
        conv2d_backward,
        conv_transpose2d,
        conv_transpose2d_backward,
        max_pool2d,
        max_pool2d_backward,
    )

__version__ = "0.1.0"
# How many threads the reference runs on (cnnref/ops/threads.py).
THREAD_SETTINGS = ("get_threads", "set_threads")
__all__ = ["__version__", *FUNCTIONS, *THREAD_SETTINGS]


# Hidden from type checkers, which then know exactly the names above and reject any other.
if not TYPE_CHECKING:

    def __getattr__(name: str):
        # The reference loads on first use, so that the lean process that runs a
        # candidate (cnnref.sandbox.child) imports none of cnnref's judgement.
        if name in FUNCTIONS:
            from . import reference

            return getattr(reference, name)
        if name in THREAD_SETTINGS:
            from .ops import threads

            return getattr(threads, name)
        raise AttributeError(f"module 'cnnref' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
