"""cnnref: a verified NumPy reference for 2-D convolution and max pooling, and an oracle for yours."""

from .reference import conv2d, conv2d_backward, max_pool2d, max_pool2d_backward

__version__ = "0.1.0"
__all__ = ["__version__", "conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward"]
