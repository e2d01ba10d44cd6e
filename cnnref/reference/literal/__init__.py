"""The literal form of the reference: each op written as its derivation (docs/derivation.md).

Slow but transparent, it is the oracle the fast path (``cnnref.reference.fast``,
what ``cnnref.conv2d`` and friends run) is checked against.  Same signatures,
same checks, same results.
"""

from .conv import conv2d, conv2d_backward
from .pool import max_pool2d, max_pool2d_backward

__all__ = ["conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward"]
