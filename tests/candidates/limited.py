"""A correct candidate that supports no groups, dilation or ceil_mode, and says so."""

from __future__ import annotations

from .student import build

CNNREF_UNSUPPORTED = {"groups", "dilation", "ceil_mode"}

_full = build()


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    if groups != 1 or dilation not in (1, (1, 1)):
        raise NotImplementedError("groups and dilation are not supported")
    return _full.conv2d(x, w, b, stride, padding)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    if ceil_mode or dilation not in (1, (1, 1)):
        raise NotImplementedError("ceil_mode and dilation are not supported")
    return _full.max_pool2d(x, kernel_size, stride, padding)
