"""Fake numpy_ml.neural_nets.layers: ``Conv2D`` and ``Pool2D`` objects, NHWC, forward and
backward as methods, one int stride and dilation, ``pad`` a 4-tuple, ``kernel_shape`` a pair
(indexed). The pool pads with zeros, as numpy-ml's does."""

import numpy as np

from cnnref import reference


def _nchw(a):
    return np.moveaxis(a, -1, 1)


def _nhwc(a):
    return np.moveaxis(a, 1, -1)


class Conv2D:
    def __init__(self, out_ch, kernel_shape, pad=0, stride=1, dilation=0):
        self.out_ch, self.kernel_shape, self.pad = out_ch, kernel_shape, pad
        self.stride, self.dilation = int(stride), int(dilation)  # an int, as numpy-ml indexes none
        self.parameters, self.gradients, self.in_ch = {}, {}, None

    def _init_params(self):
        kh, kw = self.kernel_shape[0], self.kernel_shape[1]
        self.parameters = {
            "W": np.zeros((kh, kw, self.in_ch, self.out_ch)),
            "b": np.zeros((1, 1, 1, self.out_ch)),
        }

    def _geometry(self):
        top, bottom, left, right = self.pad
        assert top == bottom and left == right, "fake: symmetric padding only"
        d = self.dilation + 1
        return dict(stride=self.stride, padding=(top, left), dilation=d)

    def _w(self):
        return self.parameters["W"].transpose(3, 2, 0, 1)

    def forward(self, X):
        self.X = X
        b = self.parameters["b"].ravel()
        return _nhwc(reference.conv2d(_nchw(X), self._w(), b, **self._geometry()))

    def backward(self, dLdy):
        b = self.parameters["b"].ravel()
        dx, dw, db = reference.conv2d_backward(
            _nchw(dLdy), _nchw(self.X), self._w(), b, **self._geometry()
        )
        self.gradients = {"W": dw.transpose(2, 3, 1, 0), "b": db.reshape(1, 1, 1, -1)}
        return _nhwc(dx)


class Pool2D:
    def __init__(self, kernel_shape, stride=1, pad=0, mode="max"):
        assert mode == "max", "fake: max pooling only"
        self.kernel_shape, self.stride, self.pad = kernel_shape, int(stride), pad

    def _geometry(self):
        top, bottom, left, right = self.pad
        assert top == bottom and left == right, "fake: symmetric padding only"
        kernel = (self.kernel_shape[0], self.kernel_shape[1])
        return dict(kernel_size=kernel, stride=self.stride, padding=(top, left), pad_value="zeros")

    def forward(self, X):
        self.X = X
        return _nhwc(reference.max_pool2d(_nchw(X), **self._geometry()))

    def backward(self, dLdy):
        return _nhwc(reference.max_pool2d_backward(_nchw(dLdy), _nchw(self.X), **self._geometry()))
