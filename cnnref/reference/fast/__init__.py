"""The fast form of the reference: what ``cnnref.conv2d`` and friends run.

Same signatures, checks and results as the literal form (``reference.literal``);
each module says which identity it uses where it departs from the literal one.
"""

from .conv import conv2d, conv2d_backward
from .pool import max_pool2d, max_pool2d_backward

__all__ = ["conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward"]
