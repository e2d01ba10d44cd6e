"""torch.nn.functional.conv_transpose2d and its autograd as an oracle (only where torch imports).

cnnref's contract is PyTorch CPU's semantics, so torch's results are the
ground truth the reference itself is tested on.  torch is imported when
called, never at import time (cnnref.oracles.torch_autograd.torch_available says
whether it can be).
"""

from __future__ import annotations

import numpy as np

from ...oracles.torch_autograd import gradient_of


def conv_transpose2d_forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry
) -> np.ndarray:
    """``torch.nn.functional.conv_transpose2d``, without autograd."""
    import torch

    with torch.no_grad():
        bias = None if b is None else torch.from_numpy(np.array(b))
        x_t, w_t = torch.from_numpy(np.array(x)), torch.from_numpy(np.array(w))
        return torch.nn.functional.conv_transpose2d(x_t, w_t, bias, **geometry).numpy()


def conv_transpose2d_backward(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(dx, dw, db)`` from autograd through ``torch.nn.functional.conv_transpose2d``,
    in the argument order of cnnref's conv_transpose2d_backward."""
    import torch

    x_t, w_t = (torch.tensor(np.array(a), requires_grad=True) for a in (x, w))
    b_t = None if b is None else torch.tensor(np.array(b), requires_grad=True)
    y = torch.nn.functional.conv_transpose2d(x_t, w_t, b_t, **geometry)
    y.backward(torch.from_numpy(np.ascontiguousarray(dy)).to(y.dtype))
    return gradient_of(x_t), gradient_of(w_t), gradient_of(b_t)
