"""max_pool2d and its gradient: each window routes dL/dY to its argmax.

By default the argmax follows PyTorch CPU exactly.  Walking a window in
row-major order over its in-bounds elements, an element takes over when it
is strictly greater than the best so far or when it is NaN.  So the first
strict maximum wins a tie, the last NaN wins over everything, and a window
of -inf only keeps its first in-bounds element.  Padding is never read.
Keyword options give the other conventions a candidate may declare (ties
split evenly, NaN ignored, zero padding, exact windows): ``route`` derives
all of them from one definition of a window's maxima.

This is the literal form, kept as the oracle the fast form (fast.py) is
checked against; it shares no code with it.  ``cnnref.max_pool2d`` runs the
fast form.  Where the windows sit is the geometry's (geometry.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .geometry import PoolGeometry, max_pool2d_backward_call, max_pool2d_call


@max_pool2d_call
def max_pool2d(geometry: PoolGeometry, x: np.ndarray, nan: str, pad_value: str) -> np.ndarray:
    """``cnnref.max_pool2d`` in the literal form: each window's maximum, tap by tap.

    The keyword options are the conventions a candidate may declare
    (``cnnref.declarations``); the defaults are PyTorch's.
    """
    maximum, _ = route(x, geometry, ties="first", nan=nan, pad_value=pad_value)
    return maximum


@max_pool2d_backward_call
def max_pool2d_backward(
    geometry: PoolGeometry, dy: np.ndarray, x: np.ndarray, ties: str, nan: str, pad_value: str
) -> np.ndarray:
    """``cnnref.max_pool2d_backward`` in the literal form.

    Each window divides its dL/dY evenly between the elements it routes to
    (one, unless ``ties="split"``) and adds each share there; where windows
    overlap, the contributions accumulate.  Shares routed to padding are dropped.
    """
    dtype = dy.dtype  # that of dL/dX
    _, routed = route(x, geometry, ties=ties, nan=nan, pad_value=pad_value)
    with np.errstate(divide="ignore", invalid="ignore"):  # windows routing nowhere share nothing
        share = dy / routed.sum(axis=0).astype(dtype)

    widths = _window_padding(geometry, x.shape, dy.shape)
    dx_padded = np.zeros([n + before + after for n, (before, after) in zip(x.shape, widths)], dtype)
    for tap, rows, cols in _window_taps(geometry, dy.shape[-2:]):
        # Distinct windows read distinct positions for one tap: an indexed add accumulates
        # (inf and -inf routed to one element make NaN there, as in PyTorch: no warning).
        with np.errstate(invalid="ignore"):
            dx_padded[..., rows, cols] += np.where(routed[tap], share, 0)
    (ph, pw), (height, width) = geometry.padding, x.shape[-2:]
    return np.ascontiguousarray(dx_padded[..., ph : ph + height, pw : pw + width])


def route(
    x: np.ndarray, geometry: PoolGeometry, *, ties: str, nan: str, pad_value: str
) -> tuple[np.ndarray, np.ndarray]:
    """Each window's maximum, and ``routed[tap]``: whether the window sends dL/dY to that tap.

    1. The taps a window reads: its in-bounds elements, and with
       ``pad_value="zeros"`` also its padding, which holds 0 (-inf with
       ``"-inf-competes"``, where a window of -inf only may route to it; never the
       overhang of ceil_mode's last window).
    2. The taps that compete for the maximum: those read, less NaN when
       ``nan="ignore"``.
    3. The maxima: every competing NaN if there is one (NaN wins), else every
       competing element equal to the largest.  None when nothing competes
       (a window of NaN only, with ``nan="ignore"``): its maximum is NaN.
    4. Routing: ``ties="split"`` routes to all the maxima; ``ties="first"``
       to the one where PyTorch's scan ends (an element takes over when it
       is strictly greater or NaN): the first maximum, or the last NaN (the
       first NaN with ``nan="first"``).  The
       maximum returned is that element's value (its sign of zero, its NaN).
    """
    out_shape = geometry.output_shape(x.shape)
    taps, read = window_taps_read(x, geometry, out_shape, pad_value)
    competing = read & ~np.isnan(taps) if nan == "ignore" else np.broadcast_to(read, taps.shape)
    holds_nan = (competing & np.isnan(taps)).any(axis=0)
    largest = np.where(competing & ~np.isnan(taps), taps, -np.inf).max(axis=0)
    maxima = competing & np.where(holds_nan, np.isnan(taps), taps == largest)

    first = maxima.argmax(axis=0)  # argmax of booleans: the first True
    last = len(maxima) - 1 - maxima[::-1].argmax(axis=0)
    scan_ends = np.where(holds_nan, first if nan == "first" else last, first)
    nothing = ~maxima.any(axis=0)
    value = np.take_along_axis(taps, scan_ends[None], axis=0)[0]
    maximum = np.where(nothing, np.nan, value).astype(x.dtype, copy=False)
    if ties == "split":
        return maximum, maxima
    tap_index = np.arange(len(taps)).reshape(-1, *[1] * scan_ends.ndim)
    return maximum, (tap_index == scan_ends) & ~nothing


def window_taps_read(
    x: np.ndarray, geometry: PoolGeometry, out_shape: tuple[int, ...], pad_value: str
) -> tuple[np.ndarray, np.ndarray]:
    """``(taps, read)``: taps[t] holds tap t of every window, (T, N, C, OH, OW); read[t]
    (T, 1, 1, OH, OW) says which of them the window reads (unread taps hold NaN)."""
    widths = _window_padding(geometry, x.shape, out_shape)
    x_padded = np.pad(x, widths, constant_values=np.nan)
    (ph, pw), (height, width) = geometry.padding, x.shape[-2:]
    at_row, at_col = (_positions(geometry, axis, n) for axis, n in enumerate(out_shape[-2:]))
    rows, cols = (at_row >= ph) & (at_row < ph + height), (at_col >= pw) & (at_col < pw + width)
    if pad_value in ("zeros", "-inf-competes"):  # padding that is read, and what it holds
        x_padded[..., : ph + height + ph, : pw + width + pw] = np.pad(
            x,
            [(0, 0), (0, 0), (ph, ph), (pw, pw)],
            constant_values=0.0 if pad_value == "zeros" else -np.inf,
        )
        rows, cols = at_row < height + 2 * ph, at_col < width + 2 * pw  # not past the padding
    taps, read = [], []
    for tap, tap_rows, tap_cols in _window_taps(geometry, out_shape[-2:]):
        i, j = divmod(tap, geometry.kernel_size[1])
        taps.append(x_padded[..., tap_rows, tap_cols])
        read.append(rows[i][:, None] & cols[j][None, :])
    return np.stack(taps), np.stack(read)[:, None, None]


# Where the windows sit, worked out here from the definition rather than taken from
# PoolGeometry's methods, which the fast form uses: the literal form shares no code with it.


def _positions(geometry: PoolGeometry, axis: int, out_size: int) -> np.ndarray:
    """``positions[i, q]``: where tap i of window q falls in the padded input along ``axis``."""
    k, s, d = geometry.kernel_size[axis], geometry.stride[axis], geometry.dilation[axis]
    return np.arange(k)[:, None] * d + np.arange(out_size)[None, :] * s


def _window_taps(
    geometry: PoolGeometry, out_size: tuple[int, ...]
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """For each tap (i, j) of the window, in row-major order: its index, and the rows and
    columns of the padded input it reads across all windows (as an open mesh)."""
    rows, cols = (_positions(geometry, axis, n) for axis, n in enumerate(out_size))
    for i, j in np.ndindex(len(rows), len(cols)):
        yield i * len(cols) + j, rows[i][:, None], cols[j][None, :]


def _window_padding(
    geometry: PoolGeometry, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> list[tuple[int, int]]:
    """``np.pad`` widths that hold every window: ``padding`` on each side, and more on the far
    side where ceil_mode lets the last window hang past the padded input."""
    widths = [(0, 0), (0, 0)]
    for axis, (size, out) in enumerate(zip(in_shape[-2:], out_shape[-2:])):
        p = geometry.padding[axis]
        last = int(_positions(geometry, axis, out).max())  # the last window's last tap
        widths.append((p, max(p, last + 1 - size - p)))
    return widths
