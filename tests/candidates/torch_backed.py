"""A correct candidate built on PyTorch: cnnref must pass it."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# torch.tensor takes no ml_dtypes bfloat16 array; PyTorch CPU's float16 backward adds partial
# sums in float16 (docs/tolerances.md), and among subnormals that rounds past its bound.
CNNREF_UNSUPPORTED = {"bfloat16", "subnormal"}
CNNREF_CONVENTIONS = {"accumulation": "half"}


def _tensor(array, grad=False):
    return torch.tensor(np.array(array), requires_grad=grad)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    bias = None if b is None else _tensor(b)
    return F.conv2d(_tensor(x), _tensor(w), bias, stride, padding, dilation, groups).numpy()


def conv2d_backward(dy, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    xt, wt = _tensor(x, True), _tensor(w, True)
    bt = None if b is None else _tensor(b, True)
    F.conv2d(xt, wt, bt, stride, padding, dilation, groups).backward(_tensor(dy))
    return xt.grad.numpy(), wt.grad.numpy(), None if bt is None else bt.grad.numpy()


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return F.max_pool2d(_tensor(x), kernel_size, stride, padding, dilation, ceil_mode).numpy()


def max_pool2d_backward(dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    xt = _tensor(x, True)
    F.max_pool2d(xt, kernel_size, stride, padding, dilation, ceil_mode).backward(_tensor(dy))
    return xt.grad.numpy()
