"""PyTorch CPU autograd as an oracle (optional: only where torch is importable).

cnnref's contract is PyTorch CPU semantics, so torch's forward and its
autograd gradients are the ground truth the reference itself is tested on.
"""

from __future__ import annotations

import importlib.util

import numpy as np


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry) -> np.ndarray:
    """``torch.nn.functional.conv2d``, without autograd."""
    import torch

    with torch.no_grad():
        tensors = [None if a is None else torch.from_numpy(np.array(a)) for a in (x, w, b)]
        return torch.nn.functional.conv2d(*tensors, **geometry).numpy()


def max_pool2d_forward(x: np.ndarray, **geometry) -> np.ndarray:
    """``torch.nn.functional.max_pool2d``, without autograd."""
    import torch

    with torch.no_grad():
        return torch.nn.functional.max_pool2d(torch.from_numpy(np.array(x)), **geometry).numpy()


def conv2d_with_gradients(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, dy: np.ndarray, **geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """``(y, dx, dw, db)`` from ``torch.nn.functional.conv2d`` and autograd."""
    import torch

    leaves = [_leaf(a) for a in (x, w)] + ([_leaf(b)] if b is not None else [None])
    y = torch.nn.functional.conv2d(*leaves, **geometry)
    y.backward(torch.from_numpy(np.ascontiguousarray(dy)).to(y.dtype))
    dx, dw, db = (None if t is None else t.grad.numpy() for t in leaves)
    return y.detach().numpy(), dx, dw, db


def max_pool2d_with_gradients(
    x: np.ndarray, dy: np.ndarray, **geometry
) -> tuple[np.ndarray, np.ndarray]:
    """``(y, dx)`` from ``torch.nn.functional.max_pool2d`` and autograd."""
    import torch

    leaf = _leaf(x)
    y = torch.nn.functional.max_pool2d(leaf, **geometry)
    y.backward(torch.from_numpy(np.ascontiguousarray(dy)).to(y.dtype))
    return y.detach().numpy(), leaf.grad.numpy()


def _leaf(array: np.ndarray):
    import torch

    return torch.tensor(np.array(array), requires_grad=True)
