"""conv2d's PyTorch oracle: ``torch.nn.functional.conv2d`` and its autograd gradients."""

from __future__ import annotations

import numpy as np

from ...oracles.torch_autograd import gradient_of, leaf


def conv2d_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry) -> np.ndarray:
    """``torch.nn.functional.conv2d``, without autograd."""
    import torch

    with torch.no_grad():
        bias = None if b is None else torch.from_numpy(np.array(b))
        x_t, w_t = torch.from_numpy(np.array(x)), torch.from_numpy(np.array(w))
        return torch.nn.functional.conv2d(x_t, w_t, bias, **geometry).numpy()


def conv2d_with_gradients(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, dy: np.ndarray, **geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """``(y, dx, dw, db)`` from ``torch.nn.functional.conv2d`` and autograd."""
    import torch

    x_t, w_t, b_t = leaf(x), leaf(w), None if b is None else leaf(b)
    y = torch.nn.functional.conv2d(x_t, w_t, b_t, **geometry)
    y.backward(torch.from_numpy(np.ascontiguousarray(dy)).to(y.dtype))
    return y.detach().numpy(), gradient_of(x_t), gradient_of(w_t), gradient_of(b_t)
