"""Fake dezero.functions: ``conv2d(x, W, b, stride, pad)`` and ``pooling(x, kernel_size,
stride, pad)``, int or pair each; the pool pads with zeros that compete and routes to a window's first NaN, as DeZero's does."""

from fake_tape import op, pair

from cnnref import reference
from dezero import Variable


def conv2d(x, W, b=None, stride=1, pad=0):
    geometry = dict(stride=pair(stride), padding=pair(pad))
    return op(
        Variable,
        lambda x, w, b: reference.conv2d(x, w, b, **geometry),
        lambda g, x, w, b: reference.conv2d_backward(g, x, w, b, **geometry),
        (x, W, b),
    )


def pooling(x, kernel_size, stride=1, pad=0):
    geometry = dict(kernel_size=pair(kernel_size), stride=pair(stride), padding=pair(pad))
    return op(
        Variable,
        lambda x: reference.max_pool2d(x, **geometry, pad_value="zeros"),
        lambda g, x: reference.max_pool2d_backward(
            g, x, **geometry, pad_value="zeros", nan="first"
        ),
        (x,),
    )
