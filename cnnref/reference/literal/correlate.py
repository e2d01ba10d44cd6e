"""The one primitive behind conv2d's forward and both of its gradients.

``correlate`` is a valid, multi-channel, grouped cross-correlation::

    y[n, o, p, q] = sum_{c, i, j} x[n, g*C + c, p*s + i*d, q*s + j*d] * k[o, c, i, j]

where ``g`` is the group of output channel ``o`` and ``C`` the channels per
group.  The forward pass, dL/dW and dL/dX are all this sum with different
operands (see docs/derivation.md); the helpers below build those operands:
zero padding, zero insertion ("dilation" of an array) and the 180-degree
rotation of a kernel.
"""

from __future__ import annotations

import numpy as np

from ..geometry import Pair, correlation_output_size


def correlate(
    x: np.ndarray,
    kernel: np.ndarray,
    *,
    stride: Pair = (1, 1),
    dilation: Pair = (1, 1),
    groups: int = 1,
    output_size: Pair | None = None,
) -> np.ndarray:
    """Valid cross-correlation of ``x`` (N, G*C, H, W) with ``kernel`` (G*O, C, KH, KW).

    ``output_size`` keeps only the first rows and columns of the result, for
    callers (dL/dW) that need a leading corner of it.

    The loop runs over whichever grid is smaller, the kernel taps or the
    output pixels; the other grid, the channels and the batch are contracted
    in one ``einsum`` per step.
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
    if kh * kw <= oh * ow:
        for i, j in np.ndindex(kh, kw):
            tap = xg[..., _taps(i * dh, oh, sh), _taps(j * dw, ow, sw)]
            y += np.einsum("ngchw,goc->ngohw", tap, kg[..., i, j])
    else:
        for p, q in np.ndindex(oh, ow):
            patch = xg[..., _taps(p * sh, kh, dh), _taps(q * sw, kw, dw)]
            y[..., p, q] = np.einsum("ngcij,gocij->ngo", patch, kg)
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
