"""PyTorch-backed candidates built with cnnref.adapters, each bound to a module-level name.

The CS231n pairs are adapted at the bottom of cs231n.py, as a student would.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from cnnref.adapters import torch_forward, torch_module
from cnnref.ops import OPS

# PyTorch's own layers: correct by definition, through the forward-only adapters.
torch_functions = torch_forward(conv2d=F.conv2d, max_pool2d=F.max_pool2d)
# Every op of the registry, each through torch.nn.functional's function of its name.
torch_every_op = torch_forward(**{op: getattr(F, op) for op in OPS})
torch_modules = torch_module(
    conv2d=nn.Conv2d,
    max_pool2d=nn.MaxPool2d,
    conv_transpose2d=nn.ConvTranspose2d,
    avg_pool2d=nn.AvgPool2d,
    adaptive_avg_pool2d=nn.AdaptiveAvgPool2d,
    adaptive_max_pool2d=nn.AdaptiveMaxPool2d,
)


# Planted bugs, each through an adapter.
def _pool_by_unfold(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """A max pool as amax over unfolded windows: autograd splits a tie evenly between its maxima."""
    stride = stride or kernel_size
    n, c, h, w = x.shape
    out_h, out_w = ((size - k) // s + 1 for size, k, s in zip((h, w), kernel_size, stride))
    windows = F.unfold(x.reshape(n * c, 1, h, w), kernel_size, stride=stride)
    return windows.amax(dim=1).reshape(n, c, out_h, out_w)


def _identity_for_unit_kernel(x, kernel_size, stride=None, **geometry):
    if tuple(kernel_size) == (1, 1) and stride in (None, (1, 1)):
        return x  # the bug: the result is the input itself
    return F.max_pool2d(x, kernel_size, stride, **geometry)


torch_ties_split = torch_forward(
    max_pool2d=_pool_by_unfold, unsupported={"padding", "dilation", "ceil_mode"}
)
torch_returns_input = torch_forward(max_pool2d=_identity_for_unit_kernel)
torch_float32 = torch_forward(
    conv2d=lambda x, w, b=None, **geometry: F.conv2d(x, w, b, **geometry).float()
)


def _conv_bias_by_hand(x, w, b=None, **geometry):
    y = F.conv2d(x, w, None, **geometry)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


# A user's conv that adds its bias itself: autograd may hand dy's buffer back as db.
torch_bias_by_hand = torch_forward(conv2d=_conv_bias_by_hand)
torch_all_ops = torch_forward(
    conv2d=F.conv2d,
    max_pool2d=F.max_pool2d,
    conv_transpose2d=F.conv_transpose2d,
    avg_pool2d=F.avg_pool2d,
)
