"""Max pools that follow other conventions than PyTorch's on purpose, and declare them.

Each is a plain loop over output pixels and window taps, independent of
cnnref's reference, as the libraries that follow these conventions write them:

* ``ties_split``: a tie splits dL/dY evenly between the tied maxima (tinygrad, autograd);
* ``nan_ignored``: NaN is skipped by the max; a window of NaN only gives NaN
  and routes nothing;
* ``zero_padded``: the input is padded with zeros that compete for the maximum;
  gradient routed to the padding is dropped;
* ``tiles_only``: only windows that tile the padded input exactly (and stride =
  kernel_size), as a reshape-based pool accepts; anything else raises;
* ``misdeclared_split``: declares ``ties="split"`` but routes a tie to the first
  maximum, as PyTorch does: cnnref must fail it;
* ``*_undeclared``: the first three without their declaration, so held to
  PyTorch's conventions: cnnref must fail them.

Targets: ``tests.candidates.conventions:<name>``.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .student import build


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def _out_size(size, k, s, p, d, ceil_mode):
    span = size + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _windows(x, kernel_size, stride, padding, dilation, ceil_mode, zero_padding):
    """For each output pixel (p, q): the taps its window reads, as (u, v, values).

    (u, v) is the input position, or None for a padded position holding 0.
    """
    kernel = _pair(kernel_size)
    stride = kernel if stride is None else _pair(stride)
    padding, dilation = _pair(padding), _pair(dilation)
    height, width = x.shape[2:]
    sizes = [
        _out_size(n, k, s, p, d, ceil_mode)
        for n, k, s, p, d in zip((height, width), kernel, stride, padding, dilation)
    ]
    zeros = np.zeros(x.shape[:2], dtype=x.dtype)
    for p in range(sizes[0]):
        for q in range(sizes[1]):
            taps = []
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    u = p * stride[0] + i * dilation[0] - padding[0]
                    v = q * stride[1] + j * dilation[1] - padding[1]
                    if 0 <= u < height and 0 <= v < width:
                        taps.append(((u, v), x[:, :, u, v]))
                    elif (
                        zero_padding
                        and -padding[0] <= u < height + padding[0]
                        and (-padding[1] <= v < width + padding[1])
                    ):
                        taps.append((None, zeros))
            yield (p, q), taps, sizes


def _pool(x, geometry, *, ties="first", ignore_nan=False, zero_padding=False, first_nan=False):
    """y, and for each output pixel the (position, weight) pairs its dL/dY goes to."""
    y, routes = None, {}
    for (p, q), taps, sizes in _windows(x, *geometry, zero_padding):
        if y is None:
            y = np.empty((*x.shape[:2], *sizes), dtype=x.dtype)
        values = np.stack([value for _, value in taps])  # (taps, N, C)
        competing = ~np.isnan(values) if ignore_nan else np.ones(values.shape, bool)
        has_nan = (np.isnan(values) & competing).any(axis=0)
        largest = np.where(competing & ~np.isnan(values), values, -np.inf).max(axis=0)
        maxima = competing & np.where(has_nan, np.isnan(values), values == largest)
        if ties == "first":  # PyTorch's scan: the first maximum, but the last NaN
            order = np.arange(len(taps))[:, None, None]
            first = np.where(maxima, order, len(taps)).min(axis=0)
            last = np.where(maxima, order, -1).max(axis=0)
            maxima = order == np.where(has_nan, first if first_nan else last, first)
            maxima &= competing.any(axis=0)
        count = maxima.sum(axis=0)
        y[:, :, p, q] = np.where(count > 0, np.where(has_nan, np.nan, largest), np.nan)
        routes[p, q] = [
            (where, maxima[t] / np.maximum(count, 1)) for t, (where, _) in enumerate(taps)
        ]
    return y, routes


def _backward(dy, x, geometry, **convention):
    _, routes = _pool(x, geometry, **convention)
    dx = np.zeros(x.shape, dtype=np.result_type(dy, x))
    for (p, q), shares in routes.items():
        for where, weight in shares:
            if where is not None:  # what reaches the padding is dropped
                dx[:, :, where[0], where[1]] += np.where(weight > 0, dy[:, :, p, q] * weight, 0)
    return dx


def _candidate(conventions, **convention):
    def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        geometry = (kernel_size, stride, padding, dilation, ceil_mode)
        return _pool(x, geometry, **convention)[0]

    def max_pool2d_backward(
        dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False
    ):
        return _backward(dy, x, (kernel_size, stride, padding, dilation, ceil_mode), **convention)

    return SimpleNamespace(
        max_pool2d=max_pool2d,
        max_pool2d_backward=max_pool2d_backward,
        CNNREF_CONVENTIONS=conventions,
    )


ties_split = _candidate({"ties": "split"}, ties="split")
nan_ignored = _candidate({"nan": "ignore"}, ignore_nan=True)
zero_padded = _candidate({"pad_value": "zeros"}, zero_padding=True)
misdeclared_split = _candidate({"max_pool2d_backward": {"ties": "split"}}, ties="first")
# A declaration excuses a convention, not a bug: every tied maximum gets all of dY (the
# catalogue's ties_to_all), declared as a split, must still fail.
ties_to_all_declared_split = SimpleNamespace(
    **vars(build("ties_to_all")), CNNREF_CONVENTIONS={"ties": "split"}
)
# The same pools with no declaration: held to PyTorch's conventions, they must fail.
first_nan = _candidate({"nan": "first"}, first_nan=True)  # np.argmax, as mygrad and DeZero
first_nan_undeclared = _candidate(None, first_nan=True)
ties_split_undeclared = _candidate(None, ties="split")
nan_ignored_undeclared = _candidate(None, ignore_nan=True)
zero_padded_undeclared = _candidate(None, zero_padding=True)


def _tiles_only_pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """A reshape-based pool: windows must tile the input exactly, stride = kernel_size."""
    (kh, kw), (n, c, h, w) = _pair(kernel_size), x.shape
    tiles = stride is None or _pair(stride) == (kh, kw)
    if not tiles or _pair(padding) != (0, 0) or h % kh or w % kw:
        raise ValueError("windows must tile the input exactly")
    return x.reshape(n, c, h // kh, kh, w // kw, kw).max(axis=(3, 5))


tiles_only = SimpleNamespace(
    max_pool2d=_tiles_only_pool,
    CNNREF_CONVENTIONS={"windows": "exact"},
    CNNREF_UNSUPPORTED={"pool": {"stride", "pool_padding", "dilation", "nan"}},
)


def _pool_of_the_reference(*args, **kwargs):
    from cnnref import max_pool2d

    return max_pool2d(*args, **kwargs)


# A declaration cnnref must refuse: 'spread' is no value of ties.
unknown_value = SimpleNamespace(
    max_pool2d=_pool_of_the_reference, CNNREF_CONVENTIONS={"ties": "spread"}
)
# Unsupported features per function, as one library's conv and pool differ.
per_function = SimpleNamespace(
    max_pool2d=_pool_of_the_reference,
    CNNREF_UNSUPPORTED={"conv2d": {"groups"}, "pool": {"ceil_mode", "padding"}},
    CNNREF_CONVENTIONS={"max_pool2d": {"windows": "exact"}},
)
