"""cnnref: a verified NumPy reference for 2-D convolution and max pooling, and an oracle for yours."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__", "conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward"]


def __getattr__(name: str):
    # The reference loads on first use, so that the lean process that runs a
    # candidate (cnnref.sandbox.child) imports none of cnnref's judgement.
    if name in __all__:
        from . import reference

        return getattr(reference, name)
    raise AttributeError(f"module 'cnnref' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
