"""max_pool2d and its gradient, one pass per window tap over whole arrays: what
``cnnref.max_pool2d`` runs.

The routing rule is the literal one (reference/literal/pool.py): walking a
window's taps in row-major order, a tap takes over when it is strictly
greater than the best so far or is NaN.  What makes it fast:

* Tap planes: each tap's values for all windows are first copied into a
  contiguous plane, so every later pass runs at memory speed, a block of
  channels at a time so the planes stay in cache.
* -inf padding instead of in-bounds masks: a -inf tap never takes over (it is
  neither greater than the best so far nor NaN), so padding is still never
  routed to, and each window starts from its first in-bounds tap as before.
* The running best is ``np.maximum`` of the taps so far.  It differs from the
  literal running best only in which zero it keeps on a -0/+0 tie and in which
  NaN it keeps (the first, where the routing picks the last; NaNs differ in
  sign and payload), neither of which changes a comparison, so the routing is
  exact.  The values returned are exact too: where a zero or a NaN could be
  picked wrongly, they are read from the routed elements.
* Where windows do not overlap (2x2 pooling, stride 2), dL/dY is placed by
  one indexed assignment instead of a masked add per tap.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..geometry import (
    IntOrPair,
    PoolGeometry,
    check_max_pool2d_backward_call,
    check_max_pool2d_call,
    effective_kernel,
)
from ..literal.pool import first_in_bounds_tap, window_padding, window_taps
from . import blocks
from .masking import keep_where


def max_pool2d(
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """2-D max pooling as PyTorch defines it, NCHW; ``stride=None`` means ``kernel_size``."""
    geometry, x = check_max_pool2d_call(x, kernel_size, stride, padding, dilation, ceil_mode)
    out_shape = geometry.output_shape(x.shape)
    maximum = np.empty(out_shape, dtype=x.dtype)
    maximum_channels = maximum.reshape(-1, *out_shape[2:])
    for channels, planes in tap_plane_blocks(x, geometry, out_shape):
        block_maximum = np.maximum.reduce(planes, axis=0)
        zero_tie = (block_maximum == 0).any() and _has_negative_zero(planes)
        if zero_tie or np.isnan(block_maximum).any():
            # np.maximum may keep the other zero of a -0/+0 tie, or the first of several
            # NaNs where the last one wins: read the routed elements instead.
            winner = route(planes, first_taps(geometry, x.shape, out_shape)).astype(np.intp)
            block_maximum = np.take_along_axis(planes, winner[None], axis=0)[0]
        maximum_channels[channels] = block_maximum
    return maximum


def max_pool2d_backward(
    dy: np.ndarray,
    x: np.ndarray,
    kernel_size: IntOrPair,
    stride: IntOrPair | None = None,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    ceil_mode: bool = False,
) -> np.ndarray:
    """dL/dX for ``Y = max_pool2d(x, ...)`` given ``dy = dL/dY``.

    Each window adds its dL/dY to the input element it routed to; where
    windows overlap, the contributions accumulate.
    """
    geometry, dy, x, dtype = check_max_pool2d_backward_call(
        dy, x, kernel_size, stride, padding, dilation, ceil_mode
    )
    first = first_taps(geometry, x.shape, dy.shape)
    (top, bottom), (left, right) = window_padding(geometry, x.shape, dy.shape)[2:]
    height, width = x.shape[2:]
    dx_padded = np.zeros(
        (len(dy) * dy.shape[1], top + height + bottom, left + width + right), dtype
    )
    dy_channels = dy.astype(dtype, copy=False).reshape(-1, *dy.shape[2:])
    scatter = _place_routed if _windows_disjoint(geometry, dy.shape) else _add_routed
    for channels, planes in tap_plane_blocks(x, geometry, dy.shape):
        scatter(dx_padded[channels], route(planes, first), dy_channels[channels], geometry)
    dx = dx_padded[:, top : top + height, left : left + width].reshape(x.shape)
    return np.ascontiguousarray(dx)


def _windows_disjoint(geometry: PoolGeometry, out_shape: tuple[int, ...]) -> bool:
    """Whether no two windows share an element: along each axis, one window ends before
    the next begins (or there is only one)."""
    return all(
        s >= effective_kernel(k, d) or out == 1
        for k, s, d, out in zip(
            geometry.kernel_size, geometry.stride, geometry.dilation, out_shape[2:]
        )
    )


def _place_routed(
    dx_block: np.ndarray, winner: np.ndarray, dy: np.ndarray, geometry: PoolGeometry
) -> None:
    """Disjoint windows: each element gets at most one dL/dY, so a single indexed
    assignment, at each window's start plus its winner's offset, places them all."""
    channels, height, width = dx_block.shape
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel_size, geometry.stride, geometry.dilation
    oh, ow = winner.shape[1:]
    tap_offset = (np.arange(kh)[:, None] * dh * width + np.arange(kw) * dw).ravel()
    position = np.take(tap_offset, winner)
    position += np.arange(oh)[:, None] * sh * width + np.arange(ow) * sw
    position += (np.arange(channels) * height * width)[:, None, None]
    dx_block.reshape(-1)[position] = dy + 0.0  # 0 + dy as in the literal sum: -0.0 -> +0.0


def _add_routed(
    dx_block: np.ndarray, winner: np.ndarray, dy: np.ndarray, geometry: PoolGeometry
) -> None:
    """Overlapping windows: one strided add per tap (for one tap, distinct windows
    read distinct elements), as in the literal form."""
    for tap, rows, cols in window_taps(geometry, dy.shape[1:]):
        dx_block[:, rows, cols] += keep_where(winner == tap, dy)


def tap_plane_blocks(
    x: np.ndarray, geometry: PoolGeometry, out_shape: tuple[int, ...]
) -> Iterator[tuple[slice, np.ndarray]]:
    """For blocks of x's N*C channels: ``(channels, planes)`` with planes of shape
    (kh*kw, len(channels), OH, OW), where plane t holds tap t of every window,
    read from x padded with -inf."""
    kh, kw = geometry.kernel_size
    oh, ow = out_shape[2:]
    x_channels = x.reshape(-1, *x.shape[2:])
    widths = window_padding(geometry, x.shape, out_shape)[2:]
    plane_bytes = kh * kw * oh * ow * x.itemsize
    for channels in blocks.batch_blocks(len(x_channels), plane_bytes, blocks.PLANE_BUDGET_BYTES):
        block = x_channels[channels]
        if any(any(w) for w in widths):
            block = np.pad(block, [(0, 0), *widths], constant_values=-np.inf)
        planes = np.empty((kh * kw, len(block), oh, ow), dtype=x.dtype)
        for tap, rows, cols in window_taps(geometry, (oh, ow)):
            planes[tap] = block[:, rows, cols]
        yield channels, planes


def first_taps(
    geometry: PoolGeometry, x_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> np.ndarray:
    """(OH, OW): each window's first in-bounds tap, where a window of -inf routes."""
    rows = geometry.taps_in_bounds("height", x_shape[2], out_shape[2])
    cols = geometry.taps_in_bounds("width", x_shape[3], out_shape[3])
    return first_in_bounds_tap(geometry, rows, cols)


def route(planes: np.ndarray, first: np.ndarray) -> np.ndarray:
    """The row-major index, within its window, of the element each window routes to.

    Taps are walked in order; the winner is the last tap that took over (a
    later tap has a larger index), or the window's ``first`` in-bounds tap
    where none did.
    """
    index_dtype = np.min_scalar_type(len(planes) - 1)
    winner = np.broadcast_to(first.astype(index_dtype), planes.shape[1:]).copy()
    best = planes[0].copy()  # tap 0 taken from a start of -inf (and -inf where it is padding)
    for tap in range(1, len(planes)):
        plane = planes[tap]
        takes_over = plane > best
        takes_over |= np.isnan(plane)
        np.maximum(winner, takes_over * index_dtype.type(tap), out=winner)
        np.maximum(best, plane, out=best)
    return winner


def _has_negative_zero(a: np.ndarray) -> bool:
    bits = np.dtype(f"u{a.itemsize}")
    return bool((a.view(bits) == np.array(-0.0, dtype=a.dtype).view(bits)).any())
