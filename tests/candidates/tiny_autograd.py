"""A tiny hand-rolled autograd library, as mygrad, dezero or tinygrad users have one.

``Value`` holds ``.data`` and ``.grad`` and backpropagates with
``.backward(dy)``; it is array-like through ``__array__``.  Its conv and pool
reuse the CS231n solution's arithmetic.  ``copying`` wraps its input in a
copy, as many libraries do, and ``mutating`` is a forward that scales that
copy in place: cnnref must still see the change.
"""

from __future__ import annotations

import numpy as np

from cnnref.adapters import from_autograd

from . import cs231n


class Value:
    def __init__(self, data, backprop=None):
        self.data = np.asarray(data)
        self.grad = None
        self._backprop = backprop  # dL/d(self) -> passes gradients on to the inputs

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def backward(self, dy):
        if self._backprop is not None:
            self._backprop(np.asarray(dy))
        else:
            self.grad = dy if self.grad is None else self.grad + dy


def _first(value):
    """The height entry of an int or an (h, w) pair (the CS231n arithmetic is square)."""
    return value if isinstance(value, int) else value[0]


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    bias = np.zeros(w.data.shape[0], x.data.dtype) if b is None else b.data
    param = {"stride": _first(stride), "pad": _first(padding)}
    out, cache = cs231n.conv_forward(x.data, w.data, bias, param)

    def backprop(dy):
        dx, dw, db = cs231n.conv_backward(dy, cache)
        for leaf, grad in ((x, dx), (w, dw), (b, db)):
            if leaf is not None:
                leaf.backward(grad)

    return Value(out, backprop)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    size = _first(kernel_size)
    param = {"pool_height": size, "pool_width": size, "stride": _first(stride or kernel_size)}
    out, cache = cs231n.max_pool_forward(x.data, param)
    return Value(out, lambda dy: x.backward(cs231n.max_pool_backward(dy, cache)))


def scaled_in_place(x, kernel_size, **geometry):
    x.data *= 2  # the bug: a forward that changes its input
    return max_pool2d(x, kernel_size, **geometry)


# What the CS231n arithmetic cannot do, declared on the object the candidate exposes.
SQUARE_ONLY = {"dilation", "groups", "non_square", "padding", "ceil_mode"}
# NumPy arithmetic: float16 sums in float16, and np.einsum takes no bfloat16.
HALF = {"float16", "bfloat16"}

layers = from_autograd(Value, conv2d=conv2d, max_pool2d=max_pool2d, unsupported=SQUARE_ONLY | HALF)
copying = from_autograd(
    lambda array: Value(array.copy()), max_pool2d=max_pool2d, unsupported=SQUARE_ONLY | HALF
)
mutating = from_autograd(
    lambda array: Value(array.copy()), max_pool2d=scaled_in_place, unsupported=SQUARE_ONLY | HALF
)
