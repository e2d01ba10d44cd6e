"""A correct conv2d that hands the work to PyTorch: a grader's --forbid torch refuses it."""

import numpy as np


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    import torch

    t = torch.nn.functional.conv2d(
        torch.from_numpy(np.ascontiguousarray(x)),
        torch.from_numpy(np.ascontiguousarray(w)),
        None if b is None else torch.from_numpy(np.ascontiguousarray(b)),
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
    )
    return t.numpy()
