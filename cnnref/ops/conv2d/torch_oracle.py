"""conv2d's PyTorch oracle: ``torch.nn.functional.conv2d`` and its autograd gradients."""

from __future__ import annotations

import numpy as np

from ...oracles.torch_autograd import leaf


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry) -> np.ndarray:
    """``torch.nn.functional.conv2d``, without autograd."""
    import torch

    with torch.no_grad():
        tensors = [None if a is None else torch.from_numpy(np.array(a)) for a in (x, w, b)]
        return torch.nn.functional.conv2d(*tensors, **geometry).numpy()


def conv2d_with_gradients(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, dy: np.ndarray, **geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """``(y, dx, dw, db)`` from ``torch.nn.functional.conv2d`` and autograd."""
    import torch

    leaves = [leaf(a) for a in (x, w)] + ([leaf(b)] if b is not None else [None])
    y = torch.nn.functional.conv2d(*leaves, **geometry)
    y.backward(torch.from_numpy(np.ascontiguousarray(dy)).to(y.dtype))
    dx, dw, db = (None if t is None else t.grad.numpy() for t in leaves)
    return y.detach().numpy(), dx, dw, db
