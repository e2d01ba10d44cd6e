"""Candidates in the two blind spots of issue 24, built on cnnref's reference arithmetic.

* ``zero_padded_forward_only``: a max pool whose forward pads with zeros (undeclared) while
  its backward routes as PyTorch's does.  At x = 0 next to the padding the forward agrees
  with the reference; a finite-difference step below it does not, and the backward must not
  be blamed for that.
* ``shape_keyed_cache``: a conv layer that keeps its last forward input per shape and, in
  the backward, uses that cached x instead of the x it is given: right only when the forward
  was just called on the same x.

Targets: ``tests.candidates.blind_spots:<name>``.
"""

from __future__ import annotations

from types import SimpleNamespace

from cnnref import reference


def _zero_padded_pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    geometry = dict(stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    return reference.max_pool2d(x, kernel_size, **geometry, pad_value="zeros")


zero_padded_forward_only = SimpleNamespace(
    max_pool2d=_zero_padded_pool, max_pool2d_backward=reference.max_pool2d_backward
)


_last_input: dict[tuple, object] = {}  # x's shape -> the x of the last forward of that shape


def _caching_conv(x, w, b=None, *args, **kwargs):
    _last_input[x.shape] = x.copy()
    return reference.conv2d(x, w, b, *args, **kwargs)


def _cached_backward(dy, x, w, b=None, *args, **kwargs):
    cached = _last_input.get(x.shape, x)  # the bug: the last forward's x of this shape
    return reference.conv2d_backward(dy, cached, w, b, *args, **kwargs)


shape_keyed_cache = SimpleNamespace(conv2d=_caching_conv, conv2d_backward=_cached_backward)
