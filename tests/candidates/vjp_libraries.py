"""Layers through the ready HIPS autograd and TensorFlow adapters, on the fakes of
tests/fake_libraries (their calling conventions, cnnref's reference arithmetic)."""

from __future__ import annotations

from fake_tape import Node, op

from cnnref import reference
from cnnref.adapters import hips_autograd, tensorflow_forward


def _traced(forward, backward):
    """A forward on fake_tape nodes: ``forward(*arrays, **geometry)``, ``backward(g, *arrays,
    **geometry)`` its gradients, as autograd.numpy and tf ops give them."""

    def traced(*operands, **geometry):
        return op(
            Node,
            lambda *arrays: forward(*arrays, **geometry),
            lambda g, *arrays: backward(g, *arrays, **geometry),
            operands,
        )

    return traced


conv2d = _traced(reference.conv2d, reference.conv2d_backward)
conv_transpose2d = _traced(reference.conv_transpose2d, reference.conv_transpose2d_backward)
avg_pool2d = _traced(
    lambda x, **geometry: reference.avg_pool2d(x, **geometry),
    lambda g, x, **geometry: reference.avg_pool2d_backward(g, x, **geometry),
)


hips_layers = hips_autograd(conv2d=conv2d, avg_pool2d=avg_pool2d)
tf_layers = tensorflow_forward(conv_transpose2d=conv_transpose2d, avg_pool2d=avg_pool2d)
