"""Candidates for issue 24's findings on real libraries, built on cnnref's reference arithmetic.

(The other blind spot, a backward that reads a shape-keyed cache of the last forward's
input, is the catalogue's ``shape_keyed_cache``.)

* ``zero_padded_forward_only``: a max pool whose forward pads with zeros (undeclared) while
  its backward routes as PyTorch's does.  At x = 0 next to the padding the forward agrees
  with the reference; a finite-difference step below it does not, and the backward must not
  be blamed for that.
* ``neginf_padding_values``: a max pool whose backward treats the padding as -inf values (JAX,
  Chainer): an all -inf window next to the padding routes into it.  Its dx matches
  ``pad_value="zeros"``, its forward does not: no hint may suggest declaring that; it is
  ``pad_value="-inf-competes"``, which ``neginf_padding_declared`` declares.
* ``nan_dropped_when_large``: a forward that skips NaN only in inputs of 64 elements or more
  (a JAX bug): declaring ``nan="ignore"`` fails on small inputs, so no hint may suggest it.
* ``tiling_conv``: a conv that refuses windows that do not tile the input (mygrad): the
  failure must name the feature to declare, ``stride``; ``tiling_conv_declared`` declares
  its convention instead, ``windows="exact"``.

Targets: ``tests.candidates.blind_spots:<name>``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from cnnref import reference


def _zero_padded_pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    geometry = dict(stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode)
    return reference.max_pool2d(x, kernel_size, **geometry, pad_value="zeros")


zero_padded_forward_only = SimpleNamespace(
    max_pool2d=_zero_padded_pool, max_pool2d_backward=reference.max_pool2d_backward
)


def _neginf_padded(x, padding):
    (ph, pw) = (padding, padding) if isinstance(padding, int) else padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=-np.inf), (ph, pw)


def _neginf_padding_backward(
    dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
):
    """As JAX and Chainer route: the padding is -inf values, first in a window of -inf only."""
    padded, (ph, pw) = _neginf_padded(x, padding)
    geometry = dict(stride=stride or kernel_size, dilation=dilation, ceil_mode=ceil_mode)
    dx = reference.max_pool2d_backward(dy, padded, kernel_size, padding=0, **geometry)
    return np.ascontiguousarray(dx[..., ph : dx.shape[-2] - ph, pw : dx.shape[-1] - pw])


# The forward never reads the padding (PyTorch's), the backward routes an all -inf window into it.
neginf_padding_values = SimpleNamespace(
    max_pool2d=reference.max_pool2d, max_pool2d_backward=_neginf_padding_backward
)


def _nan_dropped_when_large(x, kernel_size, *args, **kwargs):
    """As a JAX bug does: NaN is skipped, but only in inputs of 64 elements or more."""
    if x.size >= 64:
        x = np.where(np.isnan(x), -np.inf, x)
    return reference.max_pool2d(x, kernel_size, *args, **kwargs)


neginf_padding_declared = SimpleNamespace(  # no ceil_mode, as JAX's reduce_window
    **vars(neginf_padding_values),
    CNNREF_CONVENTIONS={"pad_value": "-inf-competes"},
    CNNREF_UNSUPPORTED={"ceil_mode"},
)


nan_dropped_when_large = SimpleNamespace(max_pool2d=_nan_dropped_when_large)


def _tiling_conv(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """As mygrad's conv_nd: the windows must tile the padded input exactly."""
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    for size, k, s, p, d in zip(
        x.shape[2:], w.shape[2:], pair(stride), pair(padding), pair(dilation)
    ):
        if (size + 2 * p - d * (k - 1) - 1) % s:
            raise ValueError("Stride and kernel dimensions are incompatible")
    return reference.conv2d(x, w, b, stride, padding, dilation, groups)


tiling_conv = SimpleNamespace(conv2d=_tiling_conv)
tiling_conv_declared = SimpleNamespace(
    conv2d=_tiling_conv, CNNREF_CONVENTIONS={"conv": {"windows": "exact"}}
)
