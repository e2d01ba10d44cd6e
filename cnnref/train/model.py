"""A Sequential network and the small CNNs that ``cnnref train`` learns MNIST with."""

from __future__ import annotations

from typing import Any

import numpy as np

from .layers import Layer, Parameter, layer_from_spec

ModelSpec = list[dict[str, Any]]


class Sequential:
    """Layers applied in order; backward runs them in reverse."""

    def __init__(self, layers: list[Layer]) -> None:
        self.layers = layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dy: np.ndarray, *, need_dx: bool = True) -> np.ndarray | None:
        """dL/dx of the network's input; with ``need_dx=False`` only the parameters'
        gradients (training needs no more, and the first layer then skips its dx)."""
        first, *rest = self.layers
        for layer in reversed(rest):
            dy = layer.backward(dy)
        if not need_dx:
            first.backward_parameters(dy)
            return None
        return first.backward(dy)

    def parameters(self) -> dict[str, Parameter]:
        """Every parameter, named ``"<layer index>.<name>"`` (``"0.weight"``)."""
        return {
            f"{index}.{name}": parameter
            for index, layer in enumerate(self.layers)
            for name, parameter in layer.parameters().items()
        }

    def spec(self) -> ModelSpec:
        return [layer.spec() for layer in self.layers]

    @classmethod
    def from_spec(
        cls, spec: ModelSpec, rng: np.random.Generator | None = None, dtype=np.float32
    ) -> Sequential:
        return cls([layer_from_spec(entry, rng, dtype) for entry in spec])


def small_cnn(
    channels: tuple[int, int] = (8, 16), kernel_size: int = 3, hidden: int = 0
) -> ModelSpec:
    """conv-relu-pool twice, then dense: 1x28x28 -> C1x14x14 -> C2x7x7 -> 10 logits; with
    ``hidden`` > 0, a dense layer of that many ReLU units before the last."""
    first, second = channels
    same = kernel_size // 2  # "same" padding keeps 28x28 and 14x14 before each pool
    features: list[dict[str, Any]] = [
        {"layer": "conv2d", "in_channels": 1, "out_channels": first,
         "kernel_size": kernel_size, "padding": same},
        {"layer": "relu"},
        {"layer": "max_pool2d", "kernel_size": 2},
        {"layer": "conv2d", "in_channels": first, "out_channels": second,
         "kernel_size": kernel_size, "padding": same},
        {"layer": "relu"},
        {"layer": "max_pool2d", "kernel_size": 2},
        {"layer": "flatten"},
    ]  # fmt: skip
    flat = second * 7 * 7
    if not hidden:
        return [*features, {"layer": "dense", "in_features": flat, "out_features": 10}]
    return [
        *features,
        {"layer": "dense", "in_features": flat, "out_features": hidden},
        {"layer": "relu"},
        {"layer": "dense", "in_features": hidden, "out_features": 10},
    ]


def default_cnn() -> ModelSpec:
    """The network ``cnnref train`` learns: 32 and 64 channels, then 128 hidden units, the
    shape of the PyTorch network it is compared with (docs/training.md)."""
    return small_cnn((32, 64), hidden=128)
