"""avg_pool2d and its gradient as whole-array passes: what ``cnnref.avg_pool2d`` runs.

The literal form (literal.py) visits each window and each of its elements.
This form departs from it by two identities:

* Sum by taps: for one tap (i, j) of the window, the elements it reads in all
  windows form a strided slice of the padded input, so the window sums are
  kh*kw strided adds over whole arrays.  The padding holds zeros, which leave
  a sum unchanged (x + 0 == x, NaN and inf included), and the taps are added
  in row-major order starting from +0, so each window's sum is the literal
  form's, bit for bit.  The backward is the same pass transposed: each tap
  adds dY / divisor into its strided slice of a padded dL/dX.
* Separable divisor: a window and the region it counts (the padded input, or
  the input itself) are both rectangles, so the number of positions they share
  is the product of the counts along each axis.  The divisors of all windows
  are the outer product of two vectors, computed once.

Every tap re-reads the padded input, so the passes run over blocks of
(image, channel) planes that fit in a core's cache (``blocks.batch_blocks``);
each plane is summed as before, so the results are the same bits, and the
runs of blocks can go to several threads (``blocks.for_each_run``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .. import blocks
from .geometry import AvgPoolGeometry, avg_pool2d_backward_call, avg_pool2d_call


@avg_pool2d_call
def avg_pool2d(geometry: AvgPoolGeometry, x: np.ndarray) -> np.ndarray:
    """2-D average pooling as PyTorch CPU defines it, NCHW; ``stride=None`` means ``kernel_size``."""
    out_shape = geometry.output_shape(x.shape)
    widths = padding_widths(geometry, x.shape, out_shape)
    planes = x.reshape(-1, *x.shape[2:])  # (N*C, H, W); a copy only for odd layouts
    total = np.empty((len(planes), *out_shape[2:]), dtype=x.dtype)
    plane_bytes = (x.shape[2] + sum(widths[2])) * (x.shape[3] + sum(widths[3])) * x.itemsize
    zero = x.dtype.type(0)
    divisor = divisor_plane(geometry, x.shape[2:], out_shape[2:], x.dtype)

    def average(run: slice) -> None:
        for block in blocks.batch_blocks(run, plane_bytes, blocks.PLANE_BUDGET_BYTES):
            padded = np.pad(planes[block], [(0, 0), *widths[2:]])
            taps = tap_slices(geometry, out_shape[2:])
            rows, cols = next(taps)
            np.add(padded[:, rows, cols], zero, out=total[block])  # -0.0 -> +0.0, as 0 + x
            for rows, cols in taps:
                total[block] += padded[:, rows, cols]
            total[block] /= divisor

    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN propagate, silently
        blocks.for_each_run(len(planes), plane_bytes, average)
    return total.reshape(out_shape)


@avg_pool2d_backward_call
def avg_pool2d_backward(geometry: AvgPoolGeometry, dy: np.ndarray, x: np.ndarray) -> np.ndarray:
    """dL/dX for ``Y = avg_pool2d(x, ...)`` given ``dy = dL/dY``: each tap adds
    dY / divisor into the elements it read; what lands on padding is cropped away."""
    widths = padding_widths(geometry, x.shape, dy.shape)
    (top, _), (left, _) = widths[2:]
    height, width = x.shape[2:]
    padded_size = [n + before + after for n, (before, after) in zip(x.shape[2:], widths[2:])]
    dx = np.empty((x.shape[0] * x.shape[1], height, width), dtype=dy.dtype)
    divisor = divisor_plane(geometry, x.shape[2:], dy.shape[2:], dy.dtype)
    dy_planes = dy.reshape(-1, *dy.shape[2:])
    plane_bytes = padded_size[0] * padded_size[1] * dy.itemsize

    def spread(run: slice) -> None:
        for block in blocks.batch_blocks(run, plane_bytes, blocks.PLANE_BUDGET_BYTES):
            share = dy_planes[block] / divisor
            dx_padded = np.zeros((len(share), *padded_size), dtype=dy.dtype)
            for rows, cols in tap_slices(geometry, dy.shape[2:]):
                dx_padded[:, rows, cols] += share
            dx[block] = dx_padded[:, top : top + height, left : left + width]

    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN propagate, silently
        blocks.for_each_run(len(dx), plane_bytes, spread)
    return dx.reshape(x.shape)


def divisor_plane(
    geometry: AvgPoolGeometry,
    size: tuple[int, ...],
    out_size: tuple[int, ...],
    dtype: np.dtype,
) -> np.ndarray:
    """(OH, OW): each window's divisor, in ``dtype``."""
    if geometry.divisor_override is not None:
        return np.full(out_size, geometry.divisor_override, dtype=dtype)
    counts = []
    for n, out, k, s, p in zip(
        size, out_size, geometry.kernel_size, geometry.stride, geometry.padding
    ):
        start = np.arange(out) * s - p  # the window's first position, in x's coordinates
        end = start + k
        if geometry.count_include_pad:  # the padded input spans [-p, n + p)
            counts.append(np.minimum(end, n + p) - start)
        else:
            counts.append(np.minimum(end, n) - np.maximum(start, 0))
    rows, cols = counts
    return np.multiply.outer(rows, cols).astype(dtype)


def padding_widths(
    geometry: AvgPoolGeometry, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> list[tuple[int, int]]:
    """``np.pad`` widths that make every window fit: ``padding`` on each side, and more on
    the far side where ceil_mode's last window hangs past the padded input."""
    widths = [(0, 0), (0, 0)]
    for n, out, k, s, p in zip(
        in_shape[2:], out_shape[2:], geometry.kernel_size, geometry.stride, geometry.padding
    ):
        last_window_end = (out - 1) * s + k  # in padded coordinates
        widths.append((p, max(p, last_window_end - n - p)))
    return widths


def tap_slices(
    geometry: AvgPoolGeometry, out_size: tuple[int, ...]
) -> Iterator[tuple[slice, slice]]:
    """For each tap (i, j), in row-major order: the (rows, cols) slices of the padded
    input that it reads across all windows."""
    (kh, kw), (sh, sw) = geometry.kernel_size, geometry.stride
    oh, ow = out_size
    for i in range(kh):
        for j in range(kw):
            yield slice(i, i + (oh - 1) * sh + 1, sh), slice(j, j + (ow - 1) * sw + 1, sw)
