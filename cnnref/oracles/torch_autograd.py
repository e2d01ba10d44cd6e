"""PyTorch CPU autograd as an oracle (optional: only where torch is importable).

cnnref's contract is PyTorch CPU semantics, so torch's forward and its
autograd gradients are the ground truth the reference itself is tested on.
Each op calls its own torch function (``cnnref/ops/<op>/torch_oracle.py``);
this module holds what they share.
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
