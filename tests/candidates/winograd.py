"""A correct candidate that convolves 3x3 kernels with Winograd's F(2x2, 3x3) algorithm.

Winograd's minimal filtering algorithm computes each 2x2 tile of outputs
from a 4x4 tile d of the (padded) input and the 3x3 kernel g as

    Y = A^T [(G g G^T) * (B^T d B)] A        (* elementwise, summed over channels)

with the transforms below: 16 multiplications per tile and channel instead
of 36.  The transforms add and subtract inputs of a tile before any product
is formed, so the rounding error is bounded by the magnitudes in the whole
tile (a normwise bound), not by the magnitudes each output sums.

It is used for the forward and for dx whenever the kernel is 3x3 with stride
1 and dilation 1: dx is then the full correlation of dy with the kernel
rotated by 180 degrees (input and output channels swapped), again a 3x3
stride-1 correlation.  Other geometries, and dw, use a plain direct method:
one channel contraction per kernel tap.  float32 inputs are computed in
float32.  Pooling is not provided.
"""

from __future__ import annotations

import numpy as np

B_T = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=np.float64)
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=np.float64)
A_T = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=np.float64)


def _pair(value):
    return (int(value), int(value)) if np.ndim(value) == 0 else tuple(int(v) for v in value)


def _dtype(*arrays):
    return np.result_type(*(a for a in arrays if a is not None))


def _winograd_correlate(xp, w, groups):
    """Valid stride-1 correlation of the padded input xp with 3x3 kernels w, by F(2x2, 3x3)."""
    dtype = xp.dtype
    bt, g, at = B_T.astype(dtype), G.astype(dtype), A_T.astype(dtype)
    n, c, hp, wp = xp.shape
    o, cg = w.shape[:2]
    oh, ow = hp - 2, wp - 2
    th, tw = -(-oh // 2), -(-ow // 2)  # tiles of 2x2 outputs
    # Zeros past the edge so that every tile has its 4x4 inputs.
    xt = np.pad(xp, ((0, 0), (0, 0), (0, 2 * th + 2 - hp), (0, 2 * tw + 2 - wp)))
    rows = (2 * np.arange(th))[:, None] + np.arange(4)  # (tiles, 4)
    cols = (2 * np.arange(tw))[:, None] + np.arange(4)
    tiles = xt[:, :, rows[:, None, :, None], cols[None, :, None, :]]  # (N, C, TH, TW, 4, 4)
    v = bt @ tiles @ bt.T  # B^T d B
    u = g @ w @ g.T  # G g G^T: (O, C/G, 4, 4)
    v = v.reshape(n, groups, c // groups, th, tw, 4, 4)
    u = u.reshape(groups, o // groups, cg, 4, 4)
    m = np.einsum("ngcpqij,gocij->ngopqij", v, u).reshape(n, o, th, tw, 4, 4)
    y = at @ m @ at.T  # (N, O, TH, TW, 2, 2)
    y = y.transpose(0, 1, 2, 4, 3, 5).reshape(n, o, 2 * th, 2 * tw)
    return y[:, :, :oh, :ow]


def _uses_winograd(w, stride, dilation):
    return w.shape[2:] == (3, 3) and stride == (1, 1) and dilation == (1, 1)


def _taps(kernel, stride, dilation, out):
    """For each kernel tap (i, j): the slices of the padded input that it multiplies."""
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            rows = slice(i * dilation[0], i * dilation[0] + (out[0] - 1) * stride[0] + 1, stride[0])
            cols = slice(j * dilation[1], j * dilation[1] + (out[1] - 1) * stride[1] + 1, stride[1])
            yield i, j, rows, cols


def _direct_correlate(xp, w, stride, dilation, groups):
    n, _c, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    out = (
        (hp - (kh - 1) * dilation[0] - 1) // stride[0] + 1,
        (wp - (kw - 1) * dilation[1] - 1) // stride[1] + 1,
    )
    y = np.zeros((n, groups, o // groups, *out), xp.dtype)
    xg = xp.reshape(n, groups, cg, hp, wp)
    wg = w.reshape(groups, o // groups, cg, kh, kw)
    for i, j, rows, cols in _taps((kh, kw), stride, dilation, out):
        y += np.einsum("ngcpq,goc->ngopq", xg[:, :, :, rows, cols], wg[:, :, :, i, j])
    return y.reshape(n, o, *out)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    dtype = _dtype(x, w, b)
    stride, (ph, pw), dilation = _pair(stride), _pair(padding), _pair(dilation)
    xp = np.pad(np.asarray(x, dtype), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    w = np.asarray(w, dtype)
    if _uses_winograd(w, stride, dilation):
        y = _winograd_correlate(xp, w, groups)
    else:
        y = _direct_correlate(xp, w, stride, dilation, groups)
    y = np.ascontiguousarray(y, dtype)
    if b is not None:
        y += np.asarray(b, dtype)[:, None, None]
    return y


def _swap_channels_and_rotate(w, groups):
    """(O, C/G, 3, 3) -> (C, O/G, 3, 3): the kernel of dx as a forward correlation of dy."""
    o, cg = w.shape[:2]
    swapped = w.reshape(groups, o // groups, cg, 3, 3).transpose(0, 2, 1, 3, 4)
    return np.ascontiguousarray(swapped.reshape(groups * cg, o // groups, 3, 3)[:, :, ::-1, ::-1])


def conv2d_backward(dy, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    dtype = _dtype(dy, x, w, b)
    stride, (ph, pw), dilation = _pair(stride), _pair(padding), _pair(dilation)
    xp = np.pad(np.asarray(x, dtype), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    w, dy = np.asarray(w, dtype), np.asarray(dy, dtype)
    n, c, hp, wp = xp.shape
    o, cg, kh, kw = w.shape
    out = dy.shape[2:]
    if _uses_winograd(w, stride, dilation):
        dy_padded = np.pad(dy, ((0, 0), (0, 0), (2, 2), (2, 2)))
        dxp = _winograd_correlate(dy_padded, _swap_channels_and_rotate(w, groups), groups)
    else:
        dxp = np.zeros((n, groups, cg, hp, wp), dtype)
        dyg = dy.reshape(n, groups, o // groups, *out)
        wg = w.reshape(groups, o // groups, cg, kh, kw)
        for i, j, rows, cols in _taps((kh, kw), stride, dilation, out):
            dxp[:, :, :, rows, cols] += np.einsum("ngopq,goc->ngcpq", dyg, wg[:, :, :, i, j])
        dxp = dxp.reshape(n, c, hp, wp)
    dx = np.ascontiguousarray(dxp[:, :, ph : hp - ph, pw : wp - pw], dtype)

    # dw by the direct method: each tap correlates the padded x with dy over the batch.
    dw = np.zeros((groups, o // groups, cg, kh, kw), dtype)
    xg = xp.reshape(n, groups, cg, hp, wp)
    dyg = dy.reshape(n, groups, o // groups, *out)
    for i, j, rows, cols in _taps((kh, kw), stride, dilation, out):
        dw[..., i, j] = np.einsum("ngcpq,ngopq->goc", xg[:, :, :, rows, cols], dyg)
    db = None if b is None else dy.sum(axis=(0, 2, 3)).astype(dtype)
    return dx, dw.reshape(o, cg, kh, kw), db
