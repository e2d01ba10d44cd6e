"""PyTorch CPU autograd as an oracle (optional: only where torch is importable).

cnnref's contract is PyTorch CPU semantics, so torch's forward and its
autograd gradients are the ground truth the reference itself is tested on.
Each op calls its own torch function (``cnnref/ops/<op>/torch_oracle.py``);
this module holds what they share.
"""

from __future__ import annotations

import importlib.util
from typing import Any, overload

import numpy as np


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def leaf(array: np.ndarray):
    """A copy of ``array`` as a torch tensor that autograd gives a gradient."""
    import torch

    return torch.tensor(np.array(array), requires_grad=True)


@overload
def gradient_of(tensor: None) -> None: ...
@overload
def gradient_of(tensor: Any) -> np.ndarray: ...
def gradient_of(tensor: Any) -> np.ndarray | None:
    """The gradient autograd left on a leaf, as an array (None where there is no leaf)."""
    if tensor is None:
        return None
    if tensor.grad is None:
        raise RuntimeError("autograd left no gradient on a leaf the result depends on")
    return tensor.grad.numpy()
