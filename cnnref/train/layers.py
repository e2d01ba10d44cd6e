"""Layers that train: each keeps what its backward pass needs and calls cnnref's public ops.

Conv2d and MaxPool2d are thin wrappers around ``cnnref.conv2d``,
``cnnref.conv2d_backward``, ``cnnref.max_pool2d`` and
``cnnref.max_pool2d_backward``: there is no second implementation of either,
so the network trains on exactly the code the suite verifies (and gets
faster whenever the reference does).

Every layer maps ``forward(x) -> y`` and ``backward(dL/dy) -> dL/dx``; a
layer with parameters leaves ``dL/dparameter`` in each ``Parameter.grad``.
``spec()`` gives the constructor arguments, so a checkpoint can rebuild the
network (``layer_from_spec``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import cnnref
from cnnref.ops.masking import keep_where


class Parameter:
    """A trainable array and the gradient the last backward pass left for it."""

    def __init__(self, value: np.ndarray) -> None:
        self.value = value
        self.grad = np.zeros_like(value)


class Layer:
    """One step of a network: ``forward`` remembers its input, ``backward`` uses it."""

    kind = ""

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dy: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward_parameters(self, dy: np.ndarray) -> None:
        """``backward`` for a first layer: the parameters' gradients, and no dL/dx."""
        self.backward(dy)

    def parameters(self) -> dict[str, Parameter]:
        return {}

    def remembered(self, value: np.ndarray | None) -> np.ndarray:
        """What ``forward`` kept for ``backward``; a RuntimeError before any forward."""
        if value is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before its forward")
        return value

    def spec(self) -> dict[str, Any]:
        """``{"layer": kind, **constructor arguments}``: enough to build the layer again."""
        return {"layer": self.kind}


def he_normal(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, dtype) -> np.ndarray:
    """He initialisation: N(0, 2 / fan_in), which keeps a ReLU network's activations at scale."""
    return (rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(dtype)


class WeightedLayer(Layer):
    """A layer with a He-initialised weight (out features first) and a zero bias.

    Without ``rng`` the weights are drawn from seed 0 (as when a checkpoint's
    values are about to replace them).
    """

    def __init__(
        self, weight_shape: tuple[int, ...], rng: np.random.Generator | None, dtype
    ) -> None:
        rng = np.random.default_rng(0) if rng is None else rng
        fan_in = math.prod(weight_shape[1:])
        self.weight = Parameter(he_normal(rng, weight_shape, fan_in, dtype))
        self.bias = Parameter(np.zeros(weight_shape[0], dtype=dtype))
        self._input: np.ndarray | None = None

    def parameters(self) -> dict[str, Parameter]:
        return {"weight": self.weight, "bias": self.bias}


class Conv2d(WeightedLayer):
    """``cnnref.conv2d`` with a learned (O, C, k, k) kernel and bias, stride 1."""

    kind = "conv2d"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        padding: int = 0,
        *,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ) -> None:
        super().__init__((out_channels, in_channels, kernel_size, kernel_size), rng, dtype)
        self.padding = padding

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._input = x
        return cnnref.conv2d(x, self.weight.value, self.bias.value, padding=self.padding)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x = self.remembered(self._input)
        dx, dw, db = cnnref.conv2d_backward(
            dy, x, self.weight.value, self.bias.value, padding=self.padding
        )
        assert dx is not None and db is not None  # dx was asked for, and the layer has a bias
        self.weight.grad, self.bias.grad = dw, db
        return dx

    def backward_parameters(self, dy: np.ndarray) -> None:
        x = self.remembered(self._input)
        _, dw, db = cnnref.conv2d_backward(
            dy, x, self.weight.value, self.bias.value, padding=self.padding, need_dx=False
        )
        assert db is not None  # the layer has a bias
        self.weight.grad, self.bias.grad = dw, db

    def spec(self) -> dict[str, Any]:
        out_channels, in_channels, kernel_size, _ = self.weight.value.shape
        return {
            "layer": self.kind,
            "in_channels": in_channels,
            "out_channels": out_channels,
            "kernel_size": kernel_size,
            "padding": self.padding,
        }


class Dense(WeightedLayer):
    """``y = x @ W.T + b`` with W of shape (out_features, in_features), as torch.nn.Linear."""

    kind = "dense"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        rng: np.random.Generator | None = None,
        dtype=np.float32,
    ) -> None:
        super().__init__((out_features, in_features), rng, dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._input = x
        return x @ self.weight.value.T + self.bias.value

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # y[n, o] = sum_i x[n, i] W[o, i] + b[o]
        self.weight.grad = dy.T @ self._input
        self.bias.grad = dy.sum(axis=0)
        return dy @ self.weight.value

    def spec(self) -> dict[str, Any]:
        out_features, in_features = self.weight.value.shape
        return {"layer": self.kind, "in_features": in_features, "out_features": out_features}


class MaxPool2d(Layer):
    """``cnnref.max_pool2d``; backward lets ``max_pool2d_backward`` route to each window's argmax."""

    kind = "max_pool2d"

    def __init__(self, kernel_size: int) -> None:
        self.kernel_size = kernel_size
        self._input: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._input = x
        return cnnref.max_pool2d(x, self.kernel_size)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return cnnref.max_pool2d_backward(dy, self.remembered(self._input), self.kernel_size)

    def spec(self) -> dict[str, Any]:
        return {"layer": self.kind, "kernel_size": self.kernel_size}


class ReLU(Layer):
    """``max(x, 0)``; its gradient passes where the input was positive."""

    kind = "relu"

    def __init__(self) -> None:
        self._positive: np.ndarray | None = None

    # np.maximum and keep_where, not np.where: np.where branches on every element, which
    # makes it many times slower, a large share of a training step.
    def forward(self, x: np.ndarray) -> np.ndarray:
        self._positive = x > 0
        return np.maximum(x, 0)  # NaN stays NaN, as in torch.relu

    def backward(self, dy: np.ndarray) -> np.ndarray:
        # exactly 0 where x <= 0, even for a NaN dy
        return keep_where(self.remembered(self._positive), dy)


class Flatten(Layer):
    """(N, C, H, W) -> (N, C*H*W), and back for the gradient."""

    kind = "flatten"

    def __init__(self) -> None:
        self._shape: tuple[int, ...] = ()

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return dy.reshape(self._shape)


LAYER_KINDS: dict[str, type[Layer]] = {
    layer.kind: layer for layer in (Conv2d, Dense, MaxPool2d, ReLU, Flatten)
}


def layer_from_spec(
    spec: dict[str, Any], rng: np.random.Generator | None = None, dtype=np.float32
) -> Layer:
    """Build the layer ``spec`` describes (``Layer.spec``); weighted layers draw from ``rng``."""
    arguments = dict(spec)
    kind = arguments.pop("layer", None)
    if kind not in LAYER_KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; expected one of {sorted(LAYER_KINDS)}")
    layer_type = LAYER_KINDS[kind]
    if issubclass(layer_type, WeightedLayer):
        return layer_type(**arguments, rng=rng, dtype=dtype)
    return layer_type(**arguments)
