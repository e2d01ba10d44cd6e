"""max_pool2d and its gradient, one pass per window tap over whole arrays: what
``cnnref.max_pool2d`` runs.

The routing rule is the literal one (literal.py): walking a
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

from .. import blocks
from ..arguments import effective_kernel
from ..masking import keep_where
from .geometry import PADDING_FILL, PoolGeometry, max_pool2d_backward_call, max_pool2d_call


@max_pool2d_call
def max_pool2d(geometry: PoolGeometry, x: np.ndarray, nan: str, pad_value: str) -> np.ndarray:
    """2-D max pooling as PyTorch defines it, NCHW; ``stride=None`` means ``kernel_size``.

    The keyword options select the other conventions a candidate may declare
    (``nan="ignore"``, ``pad_value="zeros"``, ``windows="exact"``; see
    ``cnnref.declarations``); the defaults are PyTorch's.
    """
    ignore_nan = nan == "ignore"
    out_shape = geometry.output_shape(x.shape)
    maximum = np.empty(out_shape, dtype=x.dtype)
    maximum_channels = maximum.reshape(-1, *out_shape[2:])

    def pool(run: slice) -> None:
        for channels, planes in tap_plane_blocks(
            x, geometry, out_shape, pad_value, ignore_nan, run
        ):
            block_maximum = (np.fmax if ignore_nan else np.maximum).reduce(planes, axis=0)
            zero_tie = (block_maximum == 0).any() and _has_negative_zero(planes)
            if zero_tie or (np.isnan(block_maximum).any() and not ignore_nan):
                # np.maximum may keep the other zero of a -0/+0 tie, or the first of several
                # NaNs where the last one wins: read the routed elements instead.
                first = first_taps(geometry, x.shape, out_shape, pad_value, planes, ignore_nan)
                winner = route(planes, first, nan_wins=not ignore_nan).astype(np.intp)
                routed = np.take_along_axis(planes, winner[None], axis=0)[0]
                # With NaN ignored, a window of NaN only has no routed element: NaN, as np.nan.
                block_maximum = (
                    np.where(np.isnan(block_maximum), np.nan, routed) if ignore_nan else routed
                )
            elif ignore_nan:
                block_maximum[np.isnan(block_maximum)] = np.nan
            maximum_channels[channels] = block_maximum

    blocks.for_each_run(len(maximum_channels), tap_plane_bytes(geometry, out_shape, x), pool)
    return maximum


@max_pool2d_backward_call
def max_pool2d_backward(
    geometry: PoolGeometry, dy: np.ndarray, x: np.ndarray, ties: str, nan: str, pad_value: str
) -> np.ndarray:
    """dL/dX for ``Y = max_pool2d(x, ...)`` given ``dy = dL/dY``.

    Each window adds its dL/dY to the input element it routed to (with
    ``ties="split"``, an equal share to each of its maxima); where windows
    overlap, the contributions accumulate.
    """
    dtype = dy.dtype  # that of dL/dX
    ignore_nan = nan == "ignore"
    (top, bottom), (left, right) = geometry.window_padding(x.shape, dy.shape)[2:]
    height, width = x.shape[2:]
    padded_size = (top + height + bottom, left + width + right)
    dx = np.empty(x.shape, dtype)
    dx_channels = dx.reshape(-1, height, width)
    dy_channels = dy.reshape(-1, *dy.shape[2:])
    scatter = _place_routed if _windows_disjoint(geometry, dy.shape) else _add_routed
    # Unread taps hold NaN where NaN is ignored: each block then finds its own first taps.
    read = None if ignore_nan else taps_read(geometry, x.shape, dy.shape, pad_value)
    first_competing = None if ignore_nan else first_taps(geometry, x.shape, dy.shape, pad_value)

    def route_back(run: slice) -> None:
        for channels, planes in tap_plane_blocks(x, geometry, dy.shape, pad_value, ignore_nan, run):
            dx_padded = np.zeros((len(planes[0]), *padded_size), dtype)
            if ties == "split":
                _add_split(dx_padded, planes, read, dy_channels[channels], geometry)
            else:
                if ignore_nan:
                    first = first_taps(geometry, x.shape, dy.shape, pad_value, planes, ignore_nan)
                else:
                    assert first_competing is not None  # found above unless NaN is ignored
                    first = first_competing
                winner = route(planes, first, nan_wins=not ignore_nan, nan_first=nan == "first")
                dy_block = dy_channels[channels]
                if ignore_nan:  # a window of NaN only routes nowhere
                    dy_block = keep_where(~np.isnan(np.fmax.reduce(planes, axis=0)), dy_block)
                scatter(dx_padded, winner, dy_block, geometry)
            dx_channels[channels] = dx_padded[:, top : top + height, left : left + width]

    # inf and -inf routed to one element make NaN there, as in PyTorch: no warning.
    with np.errstate(invalid="ignore"):
        blocks.for_each_run(len(dx_channels), tap_plane_bytes(geometry, dy.shape, x), route_back)
    return dx


def _add_split(
    dx_block: np.ndarray,
    planes: np.ndarray,
    read: np.ndarray | None,
    dy: np.ndarray,
    geometry: PoolGeometry,
) -> None:
    """ties="split": every tap equal to its window's maximum (NaN if the window holds one)
    gets dy / (number of such taps).  ``read`` masks the taps a window does not read (None:
    unread taps hold NaN, which is ignored)."""
    if read is None:
        largest = np.fmax.reduce(planes, axis=0)
        maxima = planes == largest
    else:
        largest = np.maximum.reduce(planes, axis=0)
        maxima = np.where(np.isnan(largest), np.isnan(planes), planes == largest)
        maxima &= read[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = dy / maxima.sum(axis=0).astype(dy.dtype)
    for tap, rows, cols in geometry.window_taps(dy.shape[1:]):
        dx_block[:, rows, cols] += keep_where(maxima[tap], share)


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
    for tap, rows, cols in geometry.window_taps(dy.shape[1:]):
        dx_block[:, rows, cols] += keep_where(winner == tap, dy)


def tap_plane_bytes(geometry: PoolGeometry, out_shape: tuple[int, ...], x: np.ndarray) -> int:
    """The size of one channel's tap planes."""
    (kh, kw), (oh, ow) = geometry.kernel_size, out_shape[2:]
    return kh * kw * oh * ow * x.itemsize


def tap_plane_blocks(
    x: np.ndarray,
    geometry: PoolGeometry,
    out_shape: tuple[int, ...],
    pad_value: str = "-inf",
    ignore_nan: bool = False,
    run: slice | None = None,
) -> Iterator[tuple[slice, np.ndarray]]:
    """For blocks of x's N*C channels (those of ``run``, by default all):
    ``(channels, planes)`` with planes of shape (kh*kw, len(channels), OH, OW), where
    plane t holds tap t of every window.

    Positions a window does not read hold -inf, which never takes over, or NaN
    where NaN is ignored; with ``pad_value="zeros"`` the padding holds 0 (-inf with
    ``"-inf-competes"``) and only ceil_mode's overhang past it is unread.
    """
    kh, kw = geometry.kernel_size
    oh, ow = out_shape[2:]
    x_channels = x.reshape(-1, *x.shape[2:])
    widths = geometry.window_padding(x.shape, out_shape)[2:]
    unread = np.nan if ignore_nan else -np.inf
    run = slice(0, len(x_channels)) if run is None else run
    plane_bytes = tap_plane_bytes(geometry, out_shape, x)
    for channels in blocks.batch_blocks(run, plane_bytes, blocks.PLANE_BUDGET_BYTES):
        block = x_channels[channels]
        fill = PADDING_FILL[pad_value]
        if fill is not None:
            padding = [(0, 0), *((p, p) for p in geometry.padding)]
            overhang = [
                (0, 0),
                *((0, after - p) for p, (_, after) in zip(geometry.padding, widths)),
            ]
            block = np.pad(
                np.pad(block, padding, constant_values=fill), overhang, constant_values=unread
            )
        elif any(any(w) for w in widths):
            block = np.pad(block, [(0, 0), *widths], constant_values=unread)
        planes = np.empty((kh * kw, len(block), oh, ow), dtype=x.dtype)
        for tap, rows, cols in geometry.window_taps((oh, ow)):
            planes[tap] = block[:, rows, cols]
        yield channels, planes


def taps_read(
    geometry: PoolGeometry, x_shape: tuple[int, ...], out_shape: tuple[int, ...], pad_value: str
) -> np.ndarray:
    """(kh*kw, OH, OW): whether each tap of each window is read (in bounds, or padding
    holding zeros)."""
    masks = []
    for axis, (size, out, k, s, p, d) in enumerate(
        zip(
            x_shape[2:],
            out_shape[2:],
            geometry.kernel_size,
            geometry.stride,
            geometry.padding,
            geometry.dilation,
        )
    ):
        if PADDING_FILL[pad_value] is not None:
            position = np.arange(k)[:, None] * d + np.arange(out)[None, :] * s
            masks.append(position < size + 2 * p)
        else:
            masks.append(geometry.taps_in_bounds(("height", "width")[axis], size, out))
    rows, cols = masks
    return (rows[:, None, :, None] & cols[None, :, None, :]).reshape(-1, *out_shape[2:])


def first_taps(
    geometry: PoolGeometry,
    x_shape: tuple[int, ...],
    out_shape: tuple[int, ...],
    pad_value: str = "-inf",
    planes: np.ndarray | None = None,
    ignore_nan: bool = False,
) -> np.ndarray:
    """Each window's first tap that competes, where a window of -inf routes: (OH, OW), or
    (channels, OH, OW) where NaN is ignored (then read from ``planes``, unread taps being NaN)."""
    if ignore_nan:
        assert planes is not None  # given whenever NaN is ignored
        return (~np.isnan(planes)).argmax(axis=0)  # a window of NaN only: 0, never used
    if PADDING_FILL[pad_value] is not None:
        return np.zeros(out_shape[2:], dtype=np.intp)  # tap 0 is always inside the padded input
    read = taps_read(geometry, x_shape, out_shape, pad_value)
    return read.argmax(axis=0)


def route(
    planes: np.ndarray, first: np.ndarray, *, nan_wins: bool = True, nan_first: bool = False
) -> np.ndarray:
    """The row-major index, within its window, of the element each window routes to.

    Taps are walked in order; the winner is the last tap that took over (a
    later tap has a larger index), or the window's ``first`` competing tap
    where none did.  With ``nan_wins`` a NaN takes over (PyTorch); without,
    NaN never does and the running best skips it (``np.fmax``); with
    ``nan_first`` a NaN takes over only from a number, so the first NaN keeps it.
    """
    index_dtype = np.min_scalar_type(len(planes) - 1)
    winner = np.broadcast_to(first.astype(index_dtype), planes.shape[1:]).copy()
    best = planes[0].copy()  # tap 0 taken from a start of -inf (and -inf where it is padding)
    running_best = np.maximum if nan_wins else np.fmax
    for tap in range(1, len(planes)):
        plane = planes[tap]
        takes_over = plane > best
        if nan_wins:
            takes_over |= np.isnan(plane) & ~(nan_first & np.isnan(best))
        np.maximum(winner, takes_over * index_dtype.type(tap), out=winner)
        running_best(best, plane, out=best)
    return winner


def _has_negative_zero(a: np.ndarray) -> bool:
    bits = np.dtype(f"u{a.itemsize}")
    return bool((a.view(bits) == np.array(-0.0, dtype=a.dtype).view(bits)).any())
