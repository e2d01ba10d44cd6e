"""PyTorch CPU's avg_pool2d and its autograd gradient, as an oracle (only where torch is
importable: see ``cnnref.oracles.torch_autograd.torch_available``)."""

from __future__ import annotations

import numpy as np


def avg_pool2d_forward(x: np.ndarray, **geometry) -> np.ndarray:
    """``torch.nn.functional.avg_pool2d``, without autograd."""
    import torch

    with torch.no_grad():
        return torch.nn.functional.avg_pool2d(torch.from_numpy(np.array(x)), **geometry).numpy()


def avg_pool2d_with_gradients(
    x: np.ndarray, dy: np.ndarray, **geometry
) -> tuple[np.ndarray, np.ndarray]:
    """``(y, dx)`` from ``torch.nn.functional.avg_pool2d`` and autograd."""
    import torch

    leaf = torch.from_numpy(np.array(x)).requires_grad_(True)
    y = torch.nn.functional.avg_pool2d(leaf, **geometry)
    y.backward(torch.from_numpy(np.ascontiguousarray(dy)).to(y.dtype))
    return y.detach().numpy(), leaf.grad.numpy()
