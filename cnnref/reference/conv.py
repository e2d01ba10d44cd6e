"""conv2d and its gradients, written as the derivation in docs/derivation.md.

* forward:  Y = correlate(pad(X), W) + b
* dL/dW:    correlate X with dL/dY (the batch is summed like a channel)
* dL/dX:    full correlation of dL/dY (spread by the stride) with rot180(W),
            cropped by the padding
* dL/db:    dL/dY summed over batch and pixels
"""

from __future__ import annotations

import numpy as np

from .correlate import (
    batch_as_channels,
    correlate,
    crop,
    insert_zeros,
    pad,
    rot180,
    transpose_kernel,
)
from .geometry import ConvGeometry, IntOrPair, as_float_array, check_gradient_shape, common_dtype

_X_LAYOUT = "(N, C, H, W)"
_W_LAYOUT = "(O, C/groups, kh, kw)"


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D convolution as PyTorch defines it: a cross-correlation, NCHW.

    ``x`` is (N, C, H, W), ``w`` is (O, C/groups, kh, kw), ``b`` is (O,) or None.
    Returns (N, O, OH, OW) with ``OH = (H + 2*padding - dilation*(kh-1) - 1) // stride + 1``.
    """
    geometry = ConvGeometry.from_args(stride, padding, dilation, groups)
    x, w, b = _conv_operands(x, w, b)
    geometry.output_shape(x.shape, w.shape)
    y = correlate(
        pad(x, geometry.padding),
        w,
        stride=geometry.stride,
        dilation=geometry.dilation,
        groups=geometry.groups,
    )
    if b is not None:
        y += b[:, None, None]
    return y


def conv2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients ``(dx, dw, db)`` of a loss L given ``dy = dL/dY`` for ``Y = conv2d(x, w, b, ...)``.

    ``db`` is None when ``b`` is None.
    """
    geometry = ConvGeometry.from_args(stride, padding, dilation, groups)
    x, w, b = _conv_operands(x, w, b)
    dy = as_float_array(dy, "dy", ndim=4, layout="(N, O, OH, OW)")
    check_gradient_shape(dy, geometry.output_shape(x.shape, w.shape))
    dtype = common_dtype(dy, x, w, b)
    dy, x, w = (
        dy.astype(dtype, copy=False),
        x.astype(dtype, copy=False),
        w.astype(dtype, copy=False),
    )

    dx = input_gradient(dy, w, x.shape, geometry)
    dw = weight_gradient(dy, x, w.shape, geometry)
    db = None if b is None else dy.sum(axis=(0, 2, 3))
    return dx, dw, db


def weight_gradient(
    dy: np.ndarray, x: np.ndarray, w_shape: tuple[int, ...], geometry: ConvGeometry
) -> np.ndarray:
    """dL/dW[o, c, i, j] = sum_{n,p,q} dY[n, o, p, q] * Xpad[n, c, p*s + i*d, q*s + j*d].

    That is a correlation of Xpad with dY used as the kernel, where stride
    and dilation trade places and the batch is the summed channel axis.
    """
    kernel_size = w_shape[-2:]
    per_channel = correlate(
        batch_as_channels(pad(x, geometry.padding), geometry.groups),  # (C/g, g*N, Hp, Wp)
        dy.transpose(1, 0, 2, 3),  # (O, N, OH, OW)
        stride=geometry.dilation,
        dilation=geometry.stride,
        groups=geometry.groups,
        output_size=kernel_size,  # padding rows no window reached lie beyond the kernel
    )
    return np.ascontiguousarray(per_channel.transpose(1, 0, 2, 3))


def input_gradient(
    dy: np.ndarray, w: np.ndarray, x_shape: tuple[int, ...], geometry: ConvGeometry
) -> np.ndarray:
    """dL/dX = crop(full_correlation(spread(dY), rot180(W^T))).

    Spreading dY by the stride puts each output back at the input position
    its window started from; the full correlation (dY zero-padded by the
    dilated kernel's extent minus one) with the rotated kernel then sends
    every dY[p, q] to every input it was computed from.
    """
    n, channels, height, width = x_shape
    (ph, pw), (dh, dw) = geometry.padding, geometry.dilation
    kh, kw = w.shape[-2:]
    spread = insert_zeros(dy, geometry.stride)
    full = pad(spread, (dh * (kh - 1), dw * (kw - 1)))
    reached = correlate(
        full,
        rot180(transpose_kernel(w, geometry.groups)),
        dilation=geometry.dilation,
        groups=geometry.groups,
    )
    # Trailing rows and columns that no window reached get zero gradient.
    dx_padded = np.zeros((n, channels, height + 2 * ph, width + 2 * pw), dtype=reached.dtype)
    dx_padded[..., : reached.shape[-2], : reached.shape[-1]] = reached
    return np.ascontiguousarray(crop(dx_padded, geometry.padding))


def _conv_operands(
    x: object, w: object, b: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check dtypes and ranks, and cast x, w and b to their common dtype."""
    x = as_float_array(x, "x", ndim=4, layout=_X_LAYOUT)
    w = as_float_array(w, "w", ndim=4, layout=_W_LAYOUT)
    if b is not None:
        b = as_float_array(b, "b", ndim=1, layout="(O,)")
        if b.shape[0] != w.shape[0]:
            raise ValueError(
                f"b must have one entry per output channel, shape ({w.shape[0]},); got {b.shape}"
            )
    dtype = common_dtype(x, w, b)
    cast = None if b is None else b.astype(dtype, copy=False)
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), cast
