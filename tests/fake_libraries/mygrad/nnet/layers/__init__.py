"""Fake mygrad.nnet.layers: ``conv_nd`` and ``max_pool``, as mygrad calls them.

As mygrad: windows must tile the input exactly, a window's first NaN takes its gradient; ``max_pool``'s ``pool`` is a sequence of
sizes (an int fails on ``len``) and it has no padding.
"""

from fake_tape import exact_tiling, op, pair

from cnnref import reference
from mygrad import Tensor


def conv_nd(x, w, *, stride, padding=0, dilation=1):
    stride, padding, dilation = pair(stride), pair(padding), pair(dilation)
    for axis in (0, 1):
        kernel = dilation[axis] * (w.shape[2 + axis] - 1) + 1
        exact_tiling(x.shape[2 + axis], kernel, stride[axis], padding[axis], "conv_nd")
    geometry = dict(stride=stride, padding=padding, dilation=dilation)
    return op(
        Tensor,
        lambda x, w: reference.conv2d(x, w, None, **geometry),
        lambda g, x, w: reference.conv2d_backward(g, x, w, None, **geometry)[:2],
        (x, w),
    )


def max_pool(x, pool, stride):
    pool = tuple(pool[i] for i in range(len(pool)))  # an int has no len(), as in mygrad
    stride = pair(stride)
    for axis in (0, 1):
        exact_tiling(x.shape[2 + axis], pool[axis], stride[axis], 0, "max_pool")
    return op(
        Tensor,
        lambda x: reference.max_pool2d(x, pool, stride),
        lambda g, x: reference.max_pool2d_backward(g, x, pool, stride, nan="first"),
        (x,),
    )
