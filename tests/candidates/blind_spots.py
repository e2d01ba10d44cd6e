"""A candidate in a blind spot of issue 24, built on cnnref's reference arithmetic.

(The other blind spot, a backward that reads a shape-keyed cache of the last forward's
input, is the catalogue's ``shape_keyed_cache``.)

* ``zero_padded_forward_only``: a max pool whose forward pads with zeros (undeclared) while
  its backward routes as PyTorch's does.  At x = 0 next to the padding the forward agrees
  with the reference; a finite-difference step below it does not, and the backward must not
  be blamed for that.

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
