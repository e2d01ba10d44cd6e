"""Layers through the ready HIPS autograd and TensorFlow adapters, on the fakes of
tests/fake_libraries (their calling conventions, cnnref's reference arithmetic)."""

from __future__ import annotations

from fake_tape import Node, op

from cnnref import reference
from cnnref.adapters import hips_autograd, tensorflow_forward


def conv2d(x, w, b=None, **geometry):
    return op(
        Node,
        lambda x, w, b: reference.conv2d(x, w, b, **geometry),
        lambda g, x, w, b: reference.conv2d_backward(g, x, w, b, **geometry),
        (x, w, b),
    )


def avg_pool2d(x, kernel_size, **geometry):
    return op(
        Node,
        lambda x: reference.avg_pool2d(x, kernel_size, **geometry),
        lambda g, x: reference.avg_pool2d_backward(g, x, kernel_size, **geometry),
        (x,),
    )


def conv_transpose2d(x, w, b=None, **geometry):
    return op(
        Node,
        lambda x, w, b: reference.conv_transpose2d(x, w, b, **geometry),
        lambda g, x, w, b: reference.conv_transpose2d_backward(g, x, w, b, **geometry),
        (x, w, b),
    )


hips_layers = hips_autograd(conv2d=conv2d, avg_pool2d=avg_pool2d)
tf_layers = tensorflow_forward(conv_transpose2d=conv_transpose2d, avg_pool2d=avg_pool2d)
