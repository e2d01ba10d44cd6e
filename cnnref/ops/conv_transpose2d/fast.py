"""conv_transpose2d and its gradients through conv2d's fast code: what the public op runs.

The transposed convolution is, exactly, conv2d's dL/dX taken as an op.  With
the same stride s, padding p, dilation d and groups, and W's layout
(C_in, C_out/groups, kh, kw) read as conv2d's (O, C/groups, kh, kw), each pass
is one of conv2d's fast passes (ops/conv2d/fast.py), where the literal
form (literal.py) loops over the kernel's taps:

* forward:  Y = crop_p(col2im(W_rows^T @ X_rows)) + b   (conv2d's scattered dL/dX, unpadded,
            over the scatter's whole reach (H - 1)*s + d*(k - 1) + 1; the crop keeps
            output_padding more rows at the bottom and right, zeros past the reach)
* dL/dX:    conv2d(dYp, W), unpadded                   (the adjoint of conv2d's dL/dX is conv2d)
* dL/dW:    conv2d's weight_gradient with the roles of X and dY exchanged: X's rows @ patches(dYp)
* dL/db:    dL/dY summed over batch and pixels

where dYp is dY zero-padded by p and cut to the scatter's reach: every place
a pixel of X lands on.  (conv2d(dY, W, padding=p) is the same up to the cut,
but where output_padding >= stride, allowed when the dilation is larger, it
has ``output_padding // stride`` more outputs than X has rows.)

Each pass forms the products PyTorch forms, so NaN and inf land where its
do.  That is why the forward is the product-then-scatter form and not the
full correlation of spread(X) with rot180(W^T) (conv2d's other dL/dX path):
that one multiplies W by the zeros it inserts, so an inf in W would give NaN.
"""

from __future__ import annotations

import numpy as np

from ..arguments import effective_kernel
from ..conv2d.fast import (
    correlate_channels_last,
    gradient_rows,
    scattered_input_gradient,
    weight_gradient,
)
from ..conv2d.geometry import ConvGeometry
from ..conv2d.im2col import channels_last
from .geometry import ConvTransposeGeometry, conv_transpose2d_backward_call, conv_transpose2d_call


@conv_transpose2d_call
def conv_transpose2d(
    geometry: ConvTransposeGeometry, x: np.ndarray, w: np.ndarray, b: np.ndarray | None
) -> np.ndarray:
    """Transposed 2-D convolution as PyTorch defines it, NCHW.

    ``x`` is (N, C_in, H, W), ``w`` is (C_in, C_out/groups, kh, kw), ``b`` is (C_out,) or None.
    Returns (N, C_out, OH, OW) with
    ``OH = (H - 1)*stride - 2*padding + dilation*(kh - 1) + output_padding + 1``.
    """
    n, out_channels, height, width = geometry.output_shape(x.shape, w.shape)
    reach, unpadded = scatter_reach(x.shape, w.shape, geometry), as_unpadded_conv2d(geometry)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf propagate, as in PyTorch
        scattered = scattered_input_gradient(
            gradient_rows(x, geometry.groups), w, (n, out_channels, *reach), unpadded
        )
        # crop_p: rows p ... p + OH - 1 of the reach; past its end (output_padding > p), zeros.
        (ph, pw) = geometry.padding
        kept = (max(0, min(height, reach[0] - ph)), max(0, min(width, reach[1] - pw)))
        y = np.zeros((n, out_channels, height, width), dtype=scattered.dtype)
        y[:, :, : kept[0], : kept[1]] = scattered[:, :, ph : ph + kept[0], pw : pw + kept[1]]
        if b is not None:
            y += b[:, None, None]
    return y


@conv_transpose2d_backward_call
def conv_transpose2d_backward(
    geometry: ConvTransposeGeometry, dy: np.ndarray, x: np.ndarray, w: np.ndarray, bias: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients ``(dx, dw, db)`` of a loss L given ``dy = dL/dY`` for
    ``Y = conv_transpose2d(x, w, b, ...)``.

    ``db`` is None when ``b`` is None.
    """
    conv = as_unpadded_conv2d(geometry)
    dy_padded = padded_to_reach(dy, scatter_reach(x.shape, w.shape, geometry), geometry.padding)
    with np.errstate(invalid="ignore", over="ignore"):
        dx = correlate_channels_last(
            channels_last(dy_padded, size=dy_padded.shape[2:]),
            w,
            conv.stride,
            conv.dilation,
            conv.groups,
        )
        dw = weight_gradient(gradient_rows(x, conv.groups), dy_padded, w.shape, conv)
        db = dy.sum(axis=(0, 2, 3)) if bias else None
    return dx, dw, db


def as_unpadded_conv2d(geometry: ConvTransposeGeometry) -> ConvGeometry:
    """The conv2d, without its padding, whose dL/dX this transposed convolution is."""
    return ConvGeometry(geometry.stride, (0, 0), geometry.dilation, geometry.groups)


def scatter_reach(
    x_shape: tuple[int, ...], w_shape: tuple[int, ...], geometry: ConvTransposeGeometry
) -> tuple[int, int]:
    """Rows and columns of the padded output that x's pixels land on, (H - 1)*s + d*(k - 1) + 1:
    the input size whose unpadded conv2d has exactly x's height and width."""
    rows, cols = (
        (size - 1) * stride + effective_kernel(k, d)
        for size, stride, k, d in zip(x_shape[2:], geometry.stride, w_shape[2:], geometry.dilation)
    )
    return rows, cols


def padded_to_reach(dy: np.ndarray, reach: tuple[int, int], padding: tuple[int, int]) -> np.ndarray:
    """dYp, dy zero-padded by ``padding``, cut to its first ``reach`` rows and columns: every
    place a pixel of x lands on, and no other (output_padding's rows past the reach are left
    out, so the backward forms exactly the products PyTorch forms)."""
    padded = np.zeros((*dy.shape[:2], *reach), dtype=dy.dtype)
    ph, pw = padding
    rows, cols = (max(0, min(size, r - p)) for size, r, p in zip(dy.shape[2:], reach, padding))
    padded[:, :, ph : ph + rows, pw : pw + cols] = dy[:, :, :rows, :cols]
    return padded
