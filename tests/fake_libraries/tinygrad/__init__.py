"""Fake tinygrad: ``Tensor`` methods ``conv2d`` and ``max_pool2d`` (int or pair each);
``backward`` takes dL/dY as a Tensor (an ndarray is refused) and ``.grad`` is a Tensor."""

import numpy as np
from fake_tape import Node, op, pair

from cnnref import reference


class Tensor(Node):
    def store_grad(self, gradient):
        self.grad = Tensor(gradient)

    def numpy(self):
        return self.data

    def backward(self, gradient=None):
        if gradient is not None and not isinstance(gradient, Tensor):
            raise TypeError(f"backward takes a Tensor, got {type(gradient).__name__}")
        self.backprop(np.ones_like(self.data) if gradient is None else gradient.data)

    def conv2d(self, weight, bias=None, groups=1, stride=1, dilation=1, padding=0):
        geometry = dict(
            stride=pair(stride), padding=pair(padding), dilation=pair(dilation), groups=groups
        )
        return op(
            Tensor,
            lambda x, w, b: reference.conv2d(x, w, b, **geometry),
            lambda g, x, w, b: reference.conv2d_backward(g, x, w, b, **geometry),
            (self, weight, bias),
        )

    def max_pool2d(self, kernel_size=(2, 2), stride=None, dilation=1, padding=0, ceil_mode=False):
        geometry = dict(
            kernel_size=pair(kernel_size),
            stride=pair(stride or kernel_size),
            padding=pair(padding),
            dilation=pair(dilation),
            ceil_mode=ceil_mode,
        )
        return op(
            Tensor,
            lambda x: reference.max_pool2d(x, **geometry),
            lambda g, x: reference.max_pool2d_backward(g, x, **geometry),
            (self,),
        )
