"""conv2d and its gradients, written as the derivation in docs/derivation.md.

* forward:  Y = correlate(pad(X), W) + b
* dL/dW:    correlate X with dL/dY (the batch is summed like a channel)
* dL/dX:    full correlation of dL/dY (spread by the stride) with rot180(W),
            cropped by the padding
* dL/db:    dL/dY summed over batch and pixels

All three are one primitive, ``correlate``, a valid, multi-channel, grouped
cross-correlation::

    y[n, o, p, q] = sum_{c, i, j} x[n, g*C + c, p*s + i*d, q*s + j*d] * k[o, c, i, j]

where ``g`` is the group of output channel ``o`` and ``C`` the channels per
group, given different operands: zero padding, zero insertion ("dilation" of
an array) and the 180-degree rotation of a kernel, built by the helpers below.

This is the literal form, kept as the oracle the fast form (fast.py) is
checked against; it shares no code with it.  ``cnnref.conv2d`` runs the fast form.
"""

from __future__ import annotations

import numpy as np

from ..arguments import Pair, correlation_output_size
from .geometry import ConvGeometry, conv2d_backward_call, conv2d_call


@conv2d_call
def conv2d(
    geometry: ConvGeometry, x: np.ndarray, w: np.ndarray, b: np.ndarray | None
) -> np.ndarray:
    """``cnnref.conv2d`` in the literal form: one correlation of the padded input with w."""
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


@conv2d_backward_call
def conv2d_backward(
    geometry: ConvGeometry, dy: np.ndarray, x: np.ndarray, w: np.ndarray, bias: bool, need_dx: bool
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray | None]:
    """``cnnref.conv2d_backward`` in the literal form: dx and dw are correlations too."""
    dx = input_gradient(dy, w, x.shape, geometry) if need_dx else None
    dw = weight_gradient(dy, x, w.shape, geometry)
    db = dy.sum(axis=(0, 2, 3)) if bias else None
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


# ---- the one primitive, and the operands it is given


def correlate(
    x: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: Pair = (1, 1),
    dilation: Pair = (1, 1),
    groups: int = 1,
    output_size: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Valid cross-correlation of ``x`` (N, G*C, H, W) with ``kernel`` (G*O, C, KH, KW).

    ``output_size`` keeps only the first rows and columns of the result, for
    callers (dL/dW) that need a leading corner of it.

    One step per kernel tap (i, j): the input shifted by the tap, times the
    tap's weights, contracted over channels in one ``einsum``.
    """
    n, _, height, width = x.shape
    out_channels, per_group, kh, kw = kernel.shape
    (sh, sw), (dh, dw) = stride, dilation
    oh = correlation_output_size(height, kh, sh, dh)
    ow = correlation_output_size(width, kw, sw, dw)
    if output_size is not None:
        oh, ow = min(oh, output_size[0]), min(ow, output_size[1])

    xg = x.reshape(n, groups, per_group, height, width)
    kg = kernel.reshape(groups, out_channels // groups, per_group, kh, kw)
    y = np.zeros((n, groups, out_channels // groups, oh, ow), dtype=np.result_type(x, kernel))
    for i, j in np.ndindex(kh, kw):
        tap = xg[..., _taps(i * dh, oh, sh), _taps(j * dw, ow, sw)]
        y += np.einsum("ngchw,goc->ngohw", tap, kg[..., i, j])
    return y.reshape(n, out_channels, oh, ow)


def _taps(start: int, count: int, step: int) -> slice:
    """The ``count`` indices ``start, start + step, ...`` as a slice."""
    return slice(start, start + (count - 1) * step + 1, step)


def pad(x: np.ndarray, padding: Pair) -> np.ndarray:
    """Zero-pad the two spatial axes of an NCHW array (always a new array)."""
    ph, pw = padding
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))


def crop(x: np.ndarray, padding: Pair) -> np.ndarray:
    """Undo ``pad``: drop ``padding`` rows and columns from each side."""
    ph, pw = padding
    return x[..., ph : x.shape[-2] - ph, pw : x.shape[-1] - pw]


def insert_zeros(x: np.ndarray, factor: Pair) -> np.ndarray:
    """Spread the spatial entries ``factor`` apart with zeros between them.

    A strided correlation only reads every ``stride``-th position, so its
    gradient is the unstrided one applied to dL/dY spread out this way.
    """
    fh, fw = factor
    *lead, height, width = x.shape
    spread = np.zeros((*lead, (height - 1) * fh + 1, (width - 1) * fw + 1), dtype=x.dtype)
    spread[..., ::fh, ::fw] = x
    return spread


def rot180(kernel: np.ndarray) -> np.ndarray:
    """Rotate each kernel by 180 degrees (flip both spatial axes)."""
    return kernel[..., ::-1, ::-1]


def batch_as_channels(x: np.ndarray, groups: int) -> np.ndarray:
    """(N, G*C, H, W) -> (C, G*N, H, W): channels become the batch, per group.

    dL/dW sums over the batch, so the batch takes the place of the summed
    channels in the correlation; groups stay separate blocks.
    """
    n, channels, height, width = x.shape
    per_group = channels // groups
    blocks = x.reshape(n, groups, per_group, height, width).transpose(2, 1, 0, 3, 4)
    return blocks.reshape(per_group, groups * n, height, width)


def transpose_kernel(kernel: np.ndarray, groups: int) -> np.ndarray:
    """(G*O, C, KH, KW) -> (G*C, O, KH, KW): swap in- and out-channels within each group."""
    out_channels, per_group, kh, kw = kernel.shape
    blocks = kernel.reshape(groups, out_channels // groups, per_group, kh, kw).transpose(
        0, 2, 1, 3, 4
    )
    return blocks.reshape(groups * per_group, out_channels // groups, kh, kw)
