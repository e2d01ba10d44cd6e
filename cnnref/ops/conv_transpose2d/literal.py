"""conv_transpose2d and its gradients, written as the derivation in docs/derivation.md reads.

The forward is a scatter: every input pixel adds itself, weighted by each
kernel tap, onto the pixel of the padded output that tap lands on, and the
padding is cropped off::

    Yp[n, G*O' + o, i*s + ki*d, j*s + kj*d] += X[n, G*C' + c, i, j] * W[G*C' + c, o, ki, kj]
    Y = b + Yp[:, :, p : p + OH, p : p + OW]

(C' = C_in/groups input and O' = C_out/groups output channels per group G;
output_padding makes OH longer, so the crop keeps that many more rows of Yp
at the bottom, or zeros past its end).  The backward reads the same
landings the other way round, a gather from dYp, dY zero-padded by p::

* dL/dX[n, c, i, j]     = sum over taps and o of dYp[landing] * W[c, o, ki, kj]
* dL/dW[c, o, ki, kj]   = sum over n, i, j of X[n, c, i, j] * dYp[landing]
* dL/db[o]              = dY summed over batch and pixels

Every product of the sums is formed, those with the padding's zeros too, as
PyTorch forms them (an inf in X meeting the padding gives NaN in dL/dW).
This is the literal form, the oracle the fast form (fast.py) is checked
against; it shares no code with it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .geometry import ConvTransposeGeometry, conv_transpose2d_backward_call, conv_transpose2d_call


@conv_transpose2d_call
def conv_transpose2d(
    geometry: ConvTransposeGeometry, x: np.ndarray, w: np.ndarray, b: np.ndarray | None
) -> np.ndarray:
    """``cnnref.conv_transpose2d`` in the literal form: each tap of w scatters x onto the
    padded output, which is then cropped."""
    n, out_channels, height, width = geometry.output_shape(x.shape, w.shape)
    (ph, pw) = geometry.padding
    y_padded = np.zeros((n, out_channels, height + 2 * ph, width + 2 * pw), dtype=x.dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # NaN and inf propagate, as in PyTorch
        for inputs, outputs, (ki, kj), rows, cols in _landings(geometry, x.shape, w.shape):
            y_padded[:, outputs, rows, cols] += np.einsum(
                "nchw,co->nohw", x[:, inputs], w[inputs, :, ki, kj]
            )
        cropped = y_padded[:, :, ph : ph + height, pw : pw + width]
        return np.ascontiguousarray(cropped if b is None else cropped + b[:, None, None])


@conv_transpose2d_backward_call
def conv_transpose2d_backward(
    geometry: ConvTransposeGeometry, dy: np.ndarray, x: np.ndarray, w: np.ndarray, bias: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``cnnref.conv_transpose2d_backward`` in the literal form: each landing of the forward
    gathers dY back, into dL/dX and dL/dW."""
    (ph, pw), (height, width) = geometry.padding, dy.shape[2:]
    dy_padded = np.zeros((*dy.shape[:2], height + 2 * ph, width + 2 * pw), dtype=dy.dtype)
    dy_padded[:, :, ph : ph + height, pw : pw + width] = dy
    dx = np.zeros(x.shape, dtype=dy.dtype)
    dw = np.zeros(w.shape, dtype=dy.dtype)
    with np.errstate(invalid="ignore", over="ignore"):
        for inputs, outputs, (ki, kj), rows, cols in _landings(geometry, x.shape, w.shape):
            landed = dy_padded[:, outputs, rows, cols]  # (N, O', H, W): where each X[i, j] went
            dx[:, inputs] += np.einsum("nohw,co->nchw", landed, w[inputs, :, ki, kj])
            dw[inputs, :, ki, kj] += np.einsum("nchw,nohw->co", x[:, inputs], landed)
        db = dy.sum(axis=(0, 2, 3)) if bias else None
    return dx, dw, db


def _landings(
    geometry: ConvTransposeGeometry, x_shape: tuple[int, ...], w_shape: tuple[int, ...]
) -> Iterator[tuple[slice, slice, tuple[int, int], slice, slice]]:
    """For each group and kernel tap (ki, kj): the group's input and output channels, the
    tap, and the rows and columns of the padded output where X's pixels land for that tap,
    ``i*s + ki*d`` for i = 0 ... H-1 (distinct, so one strided ``+=`` adds each once)."""
    height, width = x_shape[2:]
    in_per_group, out_per_group = x_shape[1] // geometry.groups, w_shape[1]
    (sh, sw), (dh, dw) = geometry.stride, geometry.dilation
    for ki, kj in np.ndindex(*w_shape[2:]):
        rows = slice(ki * dh, ki * dh + (height - 1) * sh + 1, sh)
        cols = slice(kj * dw, kj * dw + (width - 1) * sw + 1, sw)
        for g in range(geometry.groups):
            inputs = slice(g * in_per_group, (g + 1) * in_per_group)
            outputs = slice(g * out_per_group, (g + 1) * out_per_group)
            yield inputs, outputs, (ki, kj), rows, cols
