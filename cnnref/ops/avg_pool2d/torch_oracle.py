"""avg_pool2d's PyTorch oracle: ``torch.nn.functional.avg_pool2d`` and its autograd gradient."""

from __future__ import annotations

import numpy as np

from ...oracles.torch_autograd import leaf


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

    x_leaf = leaf(x)
    y = torch.nn.functional.avg_pool2d(x_leaf, **geometry)
    y.backward(torch.from_numpy(np.ascontiguousarray(dy)).to(y.dtype))
    return y.detach().numpy(), x_leaf.grad.numpy()
