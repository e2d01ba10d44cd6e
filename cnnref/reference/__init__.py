"""The NumPy reference: conv2d, max_pool2d and their gradients.

Two forms of the same four functions, checked against each other:

* ``literal``: each op written as its derivation (docs/derivation.md), the oracle;
* ``fast``: the same maths as large matrix products and whole-array passes,
  which is what ``cnnref.conv2d`` and friends run.

Both share the argument checks in ``geometry``.
"""

from . import fast, literal
from .fast import conv2d, conv2d_backward, max_pool2d, max_pool2d_backward

__all__ = ["conv2d", "conv2d_backward", "fast", "literal", "max_pool2d", "max_pool2d_backward"]
