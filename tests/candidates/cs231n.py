"""A correct CS231n-style student solution: (out, cache) forwards and backwards of the cache.

Loops over kernel taps, each tap a whole-array product, as the course's
"fast" layers do.  The pool routes as PyTorch does: the first strict maximum
of a window, the last NaN where there is one.  The bottom of the file points cnnref at it,
with a planted bug beside.
"""

from __future__ import annotations

import numpy as np

from cnnref.adapters import cs231n_conv, cs231n_pool


def conv_forward(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out_h, out_w = _out_size(xp.shape[2:], w.shape[2:], stride)
    out = np.zeros((x.shape[0], w.shape[0], out_h, out_w), np.result_type(x, w, b))
    for i, j, patch in _taps(xp, w.shape[2:], stride, (out_h, out_w)):
        out += np.einsum("nchw,fc->nfhw", patch, w[:, :, i, j])
    out += b[None, :, None, None]
    return out, (x, w, b, conv_param)


def conv_backward(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dtype = np.result_type(dout, x, w)
    dxp = np.zeros(xp.shape, dtype)
    dw = np.zeros(w.shape, dtype)
    for i, j, patch in _taps(xp, w.shape[2:], stride, dout.shape[2:]):
        dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dout, patch)
        rows, cols = _tap_slices(i, j, stride, dout.shape[2:])
        dxp[:, :, rows, cols] += np.einsum("nfhw,fc->nchw", dout, w[:, :, i, j])
    dx = dxp[:, :, pad : pad + x.shape[2], pad : pad + x.shape[3]].copy()
    db = dout.sum(axis=(0, 2, 3)).astype(np.result_type(dout, b))
    return dx, dw, db


def max_pool_forward(x, pool_param):
    kernel = (pool_param["pool_height"], pool_param["pool_width"])
    stride = pool_param["stride"]
    out_size = _out_size(x.shape[2:], kernel, stride)
    taps = np.stack([patch for _, _, patch in _taps(x, kernel, stride, out_size)])
    out = taps.max(axis=0)  # NaN propagates
    is_nan = np.isnan(taps)
    last_nan = len(taps) - 1 - np.argmax(is_nan[::-1], axis=0)
    winner = np.where(is_nan.any(axis=0), last_nan, np.argmax(taps, axis=0))
    return out, (x, pool_param, winner)


def max_pool_backward(dout, cache):
    x, pool_param, winner = cache
    kernel = (pool_param["pool_height"], pool_param["pool_width"])
    dx = np.zeros(x.shape, np.result_type(dout, x))
    for tap, (i, j) in enumerate(np.ndindex(*kernel)):
        rows, cols = _tap_slices(i, j, pool_param["stride"], dout.shape[2:])
        dx[:, :, rows, cols] += np.where(winner == tap, dout, 0)
    return dx


def _out_size(size, kernel, stride):
    return tuple((n - k) // stride + 1 for n, k in zip(size, kernel))


def _tap_slices(i, j, stride, out_size):
    out_h, out_w = out_size
    return slice(i, i + stride * (out_h - 1) + 1, stride), slice(
        j, j + stride * (out_w - 1) + 1, stride
    )


def _taps(x, kernel, stride, out_size):
    """(i, j, the input elements that kernel tap (i, j) meets at every output position)."""
    for i, j in np.ndindex(*kernel):
        rows, cols = _tap_slices(i, j, stride, out_size)
        yield i, j, x[:, :, rows, cols]


# cnnref verify --impl tests.candidates.cs231n:convolution (and :pooling): each object declares
# what its pair cannot express.
# NumPy layers: float16 sums in float16, and np.einsum takes no bfloat16.
HALF = {"float16", "bfloat16"}
convolution = cs231n_conv(conv_forward, conv_backward, unsupported=HALF)
pooling = cs231n_pool(max_pool_forward, max_pool_backward, unsupported=HALF)


def _true_convolution_forward(x, w, b, conv_param):
    return conv_forward(x, w[:, :, ::-1, ::-1], b, conv_param)  # the bug: the kernel flipped


true_convolution = cs231n_conv(_true_convolution_forward, conv_backward)
