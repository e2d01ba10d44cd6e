"""A correct candidate that convolves through the FFT (numpy.fft), forward and backward.

Every sum of products is a circular correlation or convolution computed as a
pointwise product of 2-D real FFTs over the zero-padded input plane:

* conv2d: pad x, dilate the kernel with zeros, correlate at stride 1
  (``irfft2(rfft2(x) * conj(rfft2(w)))``, no wrap-around for the valid
  positions), then subsample by the stride;
* dx: spread dy over the stride-1 output grid, convolve it with the dilated
  kernel (``irfft2(rfft2(dy) * rfft2(w))``, whose linear result has exactly
  the padded input's size), crop the padding;
* dw: correlate the padded x with the spread dy, keep the first (dilated)
  kernel-size lags, take every dilation-th tap; db is a plain sum.

Channels (within each group) and the batch are summed in the frequency
domain.  float32 inputs are transformed in single precision (complex64), so
the errors are those of a float32 FFT: small in norm (about u log2(N) times
the norms of the operands) but not element by element, which is what a
normwise tolerance must accept.  Pooling is not provided.
"""

from __future__ import annotations

import numpy as np


def _pair(value):
    return (int(value), int(value)) if np.ndim(value) == 0 else tuple(int(v) for v in value)


def _dtype(*arrays):
    return np.result_type(*(a for a in arrays if a is not None))


def _dilate(w, dilation):
    """The kernel with dilation - 1 zeros between its taps."""
    o, cg, kh, kw = w.shape
    dh, dw = dilation
    out = np.zeros((o, cg, (kh - 1) * dh + 1, (kw - 1) * dw + 1), dtype=w.dtype)
    out[:, :, ::dh, ::dw] = w
    return out


def _grouped(array, groups):
    """(N, C, ...) -> (N, G, C/G, ...)."""
    return array.reshape(array.shape[0], groups, array.shape[1] // groups, *array.shape[2:])


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    dtype = _dtype(x, w, b)
    stride, (ph, pw), dilation = _pair(stride), _pair(padding), _pair(dilation)
    xp = np.pad(np.asarray(x, dtype), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    wd = _dilate(np.asarray(w, dtype), dilation)
    n, _, hp, wp = xp.shape
    o, _, kh, kw = wd.shape
    spectrum_x = _grouped(np.fft.rfft2(xp), groups)  # (N, G, C/G, Hp, Wp//2+1)
    spectrum_w = np.fft.rfft2(wd, s=(hp, wp))
    spectrum_w = spectrum_w.reshape(
        groups, o // groups, *spectrum_w.shape[1:]
    )  # (G, O/G, C/G, ...)
    product = np.einsum("ngcuv,gocuv->ngouv", spectrum_x, spectrum_w.conj())
    correlation = np.fft.irfft2(product, s=(hp, wp)).reshape(n, o, hp, wp)
    y = correlation[:, :, : hp - kh + 1 : stride[0], : wp - kw + 1 : stride[1]]
    y = np.ascontiguousarray(y, dtype=dtype)
    if b is not None:
        y += np.asarray(b, dtype)[:, None, None]
    return y


def conv2d_backward(dy, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    dtype = _dtype(dy, x, w, b)
    stride, (ph, pw), dilation = _pair(stride), _pair(padding), _pair(dilation)
    xp = np.pad(np.asarray(x, dtype), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    w = np.asarray(w, dtype)
    wd = _dilate(w, dilation)
    dy = np.asarray(dy, dtype)
    n, c, hp, wp = xp.shape
    o, cg, kh, kw = wd.shape
    # dy on the stride-1 output grid: zeros where the stride skipped a position.
    spread = np.zeros((n, o, hp - kh + 1, wp - kw + 1), dtype)
    spread[:, :, :: stride[0], :: stride[1]] = dy
    spectrum_dy = _grouped(np.fft.rfft2(spread, s=(hp, wp)), groups)  # (N, G, O/G, ...)
    spectrum_w = np.fft.rfft2(wd, s=(hp, wp))
    spectrum_w = spectrum_w.reshape(
        groups, o // groups, *spectrum_w.shape[1:]
    )  # (G, O/G, C/G, ...)
    spectrum_x = _grouped(np.fft.rfft2(xp), groups)  # (N, G, C/G, ...)

    # dx: the full convolution of the spread dy with the kernel, summed over output channels.
    dxp = np.fft.irfft2(np.einsum("ngouv,gocuv->ngcuv", spectrum_dy, spectrum_w), s=(hp, wp))
    dx = np.ascontiguousarray(dxp.reshape(n, c, hp, wp)[:, :, ph : hp - ph, pw : wp - pw], dtype)

    # dw: the correlation of the padded x with the spread dy, summed over the batch.
    lags = np.fft.irfft2(
        np.einsum("ngcuv,ngouv->gocuv", spectrum_x, spectrum_dy.conj()), s=(hp, wp)
    )
    lags = lags.reshape(o, cg, hp, wp)
    dw = np.ascontiguousarray(lags[:, :, : kh : dilation[0], : kw : dilation[1]], dtype)
    db = None if b is None else dy.sum(axis=(0, 2, 3)).astype(dtype)
    return dx, dw, db
