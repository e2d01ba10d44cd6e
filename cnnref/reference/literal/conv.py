"""conv2d and its gradients, written as the derivation in docs/derivation.md.

* forward:  Y = correlate(pad(X), W) + b
* dL/dW:    correlate X with dL/dY (the batch is summed like a channel)
* dL/dX:    full correlation of dL/dY (spread by the stride) with rot180(W),
            cropped by the padding
* dL/db:    dL/dY summed over batch and pixels

This is the literal form, kept as the oracle the fast path (reference/fast/)
is checked against; ``cnnref.conv2d`` runs the fast path.
"""

from __future__ import annotations

import numpy as np

from ..geometry import ConvGeometry, IntOrPair, check_conv2d_backward_call, check_conv2d_call
from .correlate import (
    batch_as_channels,
    correlate,
    crop,
    insert_zeros,
    pad,
    rot180,
    transpose_kernel,
)


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """``cnnref.conv2d`` in the literal form: one correlation of the padded input with w."""
    geometry, x, w, b = check_conv2d_call(x, w, b, stride, padding, dilation, groups)
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
    """``cnnref.conv2d_backward`` in the literal form: dx and dw are correlations too."""
    geometry, dy, x, w = check_conv2d_backward_call(dy, x, w, b, stride, padding, dilation, groups)
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
