"""PyTorch CPU autograd as an oracle (optional: only where torch is importable).

cnnref's contract is PyTorch CPU semantics, so torch's forward and its
autograd gradients are the ground truth the reference itself is tested on.
Every op is called the same way, by its name in ``torch.nn.functional``: its
operands in cnnref's order, then its geometry as keyword arguments.
"""

from __future__ import annotations

import importlib.util

import numpy as np


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def leaf(array: np.ndarray):
    """A copy of ``array`` as a torch tensor that autograd gives a gradient."""
    import torch

    return torch.tensor(np.array(array), requires_grad=True)


def forward(op: str, *operands: np.ndarray | None, **geometry) -> np.ndarray:
    """``torch.nn.functional.<op>`` on ``operands`` (None stays None: no bias), without autograd."""
    import torch

    with torch.no_grad():
        tensors = [None if a is None else torch.from_numpy(np.array(a)) for a in operands]
        return getattr(torch.nn.functional, op)(*tensors, **geometry).numpy()


def with_gradients(
    op: str, dy: np.ndarray, *operands: np.ndarray | None, **geometry
) -> tuple[np.ndarray | None, ...]:
    """``(y, d operand...)`` from ``torch.nn.functional.<op>`` and autograd, for the output
    gradient ``dy``: the operands' gradients in their order (None for a None operand)."""
    import torch

    leaves = [None if a is None else leaf(a) for a in operands]
    y = getattr(torch.nn.functional, op)(*leaves, **geometry)
    y.backward(torch.from_numpy(np.ascontiguousarray(dy)).to(y.dtype))
    return (y.detach().numpy(), *(None if t is None else t.grad.numpy() for t in leaves))
