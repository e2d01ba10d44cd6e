"""Candidates built with cnnref.adapters, each bound to a module-level name as a user would."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from cnnref.adapters import cs231n_conv, cs231n_pool, torch_forward, torch_module

from . import cs231n

# PyTorch's own layers: correct by definition, through the forward-only adapters.
torch_functions = torch_forward(conv2d=F.conv2d, max_pool2d=F.max_pool2d)
torch_modules = torch_module(conv2d=nn.Conv2d, max_pool2d=nn.MaxPool2d)

# A student's CS231n pairs, correct, as two objects: each declares what its pair cannot express.
cs231n_convolution = cs231n_conv(cs231n.conv_forward, cs231n.conv_backward)
cs231n_pooling = cs231n_pool(cs231n.max_pool_forward, cs231n.max_pool_backward)
