"""The NumPy reference: conv2d, max_pool2d and their gradients, read as the derivation."""

from .conv import conv2d, conv2d_backward
from .pool import max_pool2d, max_pool2d_backward

__all__ = ["conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward"]
