"""A JAX convolution, backwards by jax.vjp through cnnref.adapters.jax_forward."""

from __future__ import annotations

from jax import lax

from cnnref.adapters import jax_forward


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    y = lax.conv_general_dilated(
        x,
        w,
        _pair(stride),
        [(p, p) for p in _pair(padding)],
        rhs_dilation=_pair(dilation),
        feature_group_count=groups,
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
    )
    return y if b is None else y + b[None, :, None, None]


# XLA's CPU reductions sum float16 in float16 (db): declared.
layers = jax_forward(conv2d=conv2d, conventions={"accumulation": "half"})
