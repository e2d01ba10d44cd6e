"""A correct candidate written the plainest way: a Python loop over output pixels.

Each output pixel's window is contracted with ``np.tensordot`` over channels
and kernel taps; pooling walks each window's taps in order.  Slow, obvious,
and independent of cnnref's reference: cnnref must pass it.
"""

from __future__ import annotations

import numpy as np

from cnnref.precision import through_float32


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _window(p, q, kernel, stride, dilation):
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    return slice(p * sh, p * sh + (kh - 1) * dh + 1, dh), slice(
        q * sw, q * sw + (kw - 1) * dw + 1, dw
    )


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    stride, (ph, pw), dilation = _pair(stride), _pair(padding), _pair(dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, _c, h, wd = xp.shape
    o, cg, kh, kw = w.shape
    oh = (h - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((n, o, oh, ow), dtype=np.result_type(x, w, *([] if b is None else [b])))
    og = o // groups
    for g in range(groups):
        inputs, outputs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        for p in range(oh):
            for q in range(ow):
                rows, cols = _window(p, q, (kh, kw), stride, dilation)
                y[:, outputs, p, q] = np.tensordot(
                    xp[:, inputs, rows, cols], w[outputs], axes=([1, 2, 3], [1, 2, 3])
                )
    return y if b is None else y + b[:, None, None]


def conv2d_backward(dy, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    stride, (ph, pw), dilation = _pair(stride), _pair(padding), _pair(dilation)
    dtype = np.result_type(dy, x, w, *([] if b is None else [b]))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    o, cg, kh, kw = w.shape
    dxp, dw = np.zeros(xp.shape, dtype), np.zeros(w.shape, dtype)
    og = o // groups
    for g in range(groups):
        inputs, outputs = slice(g * cg, (g + 1) * cg), slice(g * og, (g + 1) * og)
        for p in range(dy.shape[2]):
            for q in range(dy.shape[3]):
                rows, cols = _window(p, q, (kh, kw), stride, dilation)
                grad = dy[:, outputs, p, q]
                dxp[:, inputs, rows, cols] += np.tensordot(grad, w[outputs], axes=(1, 0))
                dw[outputs] += np.tensordot(grad, xp[:, inputs, rows, cols], axes=(0, 0))
    dx = np.ascontiguousarray(dxp[:, :, ph : ph + x.shape[2], pw : pw + x.shape[3]])
    return dx, dw, None if b is None else dy.sum(axis=(0, 2, 3)).astype(dtype)


def _routes(x, kernel_size, stride, padding, dilation, ceil_mode):
    """For every output pixel: its value, and the input position its window routes to."""
    kernel = _pair(kernel_size)
    stride = kernel if stride is None else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    sizes = []
    for size, k, s, p, d in zip(x.shape[2:], kernel, stride, padding, dilation):
        span = size + 2 * p - d * (k - 1) - 1
        out = (span + (s - 1 if ceil_mode else 0)) // s + 1
        if ceil_mode and (out - 1) * s >= size + p:
            out -= 1
        sizes.append(out)
    n, c = x.shape[:2]
    y = np.empty((n, c, *sizes), dtype=x.dtype)
    routes = {}
    for p in range(sizes[0]):
        for q in range(sizes[1]):
            best = np.full((n, c), -np.inf)
            where = None
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    u = p * stride[0] + i * dilation[0] - padding[0]
                    v = q * stride[1] + j * dilation[1] - padding[1]
                    if not (0 <= u < x.shape[2] and 0 <= v < x.shape[3]):
                        continue
                    value = x[:, :, u, v]
                    if (
                        where is None
                    ):  # the first in-bounds element, where an all -inf window routes
                        where = (np.full((n, c), u), np.full((n, c), v))
                    takes = (value > best) | np.isnan(value)
                    best = np.where(takes, value, best)
                    where = (np.where(takes, u, where[0]), np.where(takes, v, where[1]))
            y[:, :, p, q] = best
            routes[p, q] = where
    return y, routes


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return _routes(x, kernel_size, stride, padding, dilation, ceil_mode)[0]


def max_pool2d_backward(dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    _, routes = _routes(x, kernel_size, stride, padding, dilation, ceil_mode)
    dx = np.zeros(x.shape, dtype=np.result_type(dy, x))
    batch, channel = np.indices(x.shape[:2])
    for (p, q), (u, v) in routes.items():
        np.add.at(dx, (batch, channel, u, v), dy[:, :, p, q])
    return dx


# float16 and bfloat16 through the float32 loops, rounded once (cnnref.precision.through_float32).
conv2d, conv2d_backward, max_pool2d, max_pool2d_backward = map(
    through_float32, (conv2d, conv2d_backward, max_pool2d, max_pool2d_backward)
)
