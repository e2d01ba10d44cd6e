"""im2col: a correlation as one matrix product over a matrix of windows.

The literal correlation sums one tap at a time.  Copying every window into
a row of a "patch matrix" turns the whole sum into a matrix product::

    correlate(X, K)[n, o, p, q] = sum_{i, j, c} X[n, p*s + i*d, q*s + j*d, c] * K[o, c, i, j]
                                = (K_rows @ patches(X)^T)[o, (n, p, q)]

where a row of ``patches(X)`` is the window at (n, p, q) read in (i, j, c)
order and ``K_rows[o]`` is kernel o read in the same order.  X is held
channels-last (N, H, W, C) so that the copy moves contiguous runs (kw*C
numbers without groups or width dilation, C/groups otherwise);
``channels_last`` builds that copy, padded or spread as the caller needs.  ``add_columns`` is the adjoint of the patch copy (col2im): it adds
matrix entries back onto the pixels they were read from.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import blocks
from ..arguments import Pair, correlation_output_size


def channels_last(
    a: np.ndarray, size: Pair, offset: Pair = (0, 0), spacing: Pair = (1, 1)
) -> np.ndarray:
    """An (N, size_h, size_w, C) array of zeros, with ``a[n, c, h, w]`` (NCHW) placed at
    ``[n, offset_h + h * spacing_h, offset_w + w * spacing_w, c]``; what lands outside is dropped.

    One copy does the literal form's three layout steps: padding (offset > 0)
    or cropping (offset < 0), zero insertion (spacing > 1) and the move to
    channels-last.
    """
    n, channels = a.shape[:2]
    out = np.zeros((n, *size, channels), dtype=a.dtype)
    (rows_from, rows_to), (cols_from, cols_to) = (
        _placement(length, *args) for length, args in zip(a.shape[2:], zip(size, offset, spacing))
    )

    def copy(images: slice) -> None:
        out[images, rows_to, cols_to, :] = a[images, :, rows_from, cols_from].transpose(0, 2, 3, 1)

    blocks.for_each_run(n, out[:1].nbytes, copy)
    return out


def _placement(length: int, size: int, offset: int, spacing: int) -> tuple[slice, slice]:
    """The indices ``i < length`` whose place ``offset + i * spacing`` lies in ``[0, size)``,
    as a slice, and the slice of places they land on."""
    first = max(0, -(offset // spacing))  # ceil(-offset / spacing)
    stop = max(first, min(length, (size - 1 - offset) // spacing + 1))
    if stop == first:
        return slice(0, 0), slice(0, 0)
    return slice(first, stop), slice(
        offset + first * spacing, offset + (stop - 1) * spacing + 1, spacing
    )


def output_size(size: Pair, kernel_size: Pair, stride: Pair, dilation: Pair) -> Pair:
    """Output height and width of a valid correlation of an input ``size`` = (H, W)."""
    oh, ow = map(correlation_output_size, size, kernel_size, stride, dilation)
    return oh, ow


def patch_bytes_per_image(x_cl: np.ndarray, kernel_size: Pair, stride: Pair, dilation: Pair) -> int:
    """The size of one image's rows of the patch matrix of channels-last ``x_cl``."""
    oh, ow = output_size(x_cl.shape[1:3], kernel_size, stride, dilation)
    return oh * ow * kernel_size[0] * kernel_size[1] * x_cl.shape[3] * x_cl.itemsize


def patch_blocks(
    x_cl: np.ndarray,
    kernel_size: Pair,
    stride: Pair,
    dilation: Pair,
    groups: int,
    run: slice | None = None,
) -> Generator[tuple[slice, np.ndarray], None, None]:
    """The patch matrix of channels-last ``x_cl``, a block of images at a time, over the
    images of ``run`` (all of them by default).

    Yields ``(images, patches)`` with ``patches`` of shape
    (groups, len(images) * OH * OW, kh * kw * C/groups): one row per window,
    read in (i, j, c) order, one matrix per group.  The buffer is reused for
    the next block, so use each block before asking for the next.
    """
    n, _, _, channels = x_cl.shape
    run = slice(0, n) if run is None else run
    kh, kw = kernel_size
    oh, ow = output_size(x_cl.shape[1:3], kernel_size, stride, dilation)
    per_group = channels // groups
    (sh, sw), (dh, dw) = stride, dilation
    s_n, s_h, s_w, s_c = x_cl.strides
    # windows[g, n, p, q, i, j, c] = x_cl[n, p*sh + i*dh, q*sw + j*dw, g*per_group + c]
    windows = as_strided(
        x_cl,
        shape=(groups, n, oh, ow, kh, kw, per_group),
        strides=(s_c * per_group, s_n, s_h * sh, s_w * sw, s_h * dh, s_w * dw, s_c),
        writeable=False,
    )
    # The buffer's memory order: window by window, copying runs of C/groups numbers (kw*C
    # where they join up: one group, no width dilation), or for a
    # single-channel image (its own channels-last copy) tap by tap, copying runs of OW.
    order = (0, 4, 5, 6, 1, 2, 3) if channels == 1 else (0, 1, 2, 3, 4, 5, 6)
    image_bytes = patch_bytes_per_image(x_cl, kernel_size, stride, dilation)
    image_size = image_bytes // x_cl.itemsize
    block_sizes = [
        block.stop - block.start
        for block in blocks.batch_blocks(run, image_bytes, blocks.PATCH_BUDGET_BYTES)
    ]
    nbytes = max(block_sizes, default=0) * image_bytes
    with blocks.scratch(nbytes) as scratch:
        buffer = scratch[:nbytes].view(x_cl.dtype)
        for images in blocks.batch_blocks(run, image_bytes, blocks.PATCH_BUDGET_BYTES):
            count = images.stop - images.start
            shape = (groups, count, oh, ow, kh, kw, per_group)
            block = buffer[: count * image_size].reshape([shape[axis] for axis in order])
            block = block.transpose(np.argsort(order))
            block[...] = windows[:, images]
            yield images, block.reshape(groups, count * oh * ow, kh * kw * per_group)


def add_columns(
    target: np.ndarray,
    columns: np.ndarray,
    kernel_size: Pair,
    stride: Pair,
    dilation: Pair,
) -> None:
    """col2im: ``target[n, g*C + c, p*s + i*d, q*s + j*d] += columns[g, (i, j, c), (n, p, q)]``.

    ``target`` is NCHW (a block of images, padded), ``columns`` has shape
    (groups, kh * kw * C/groups, images * OH * OW).  For one tap (i, j) the
    windows read distinct pixels, so the sum is one strided add per tap.
    """
    n, channels, height, width = target.shape
    groups = columns.shape[0]
    kh, kw = kernel_size
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = output_size((height, width), kernel_size, stride, dilation)
    taps = columns.reshape(groups, kh, kw, channels // groups, n, oh, ow)
    for i, j in np.ndindex(kh, kw):
        tap = taps[:, i, j].transpose(2, 0, 1, 3, 4).reshape(n, channels, oh, ow)
        target[
            :, :, i * dh : i * dh + (oh - 1) * sh + 1 : sh, j * dw : j * dw + (ow - 1) * sw + 1 : sw
        ] += tap
