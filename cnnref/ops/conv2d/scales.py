"""The magnitudes conv2d's rounding errors are measured against: the op applied to |operands|.

Every output element of conv2d (and each gradient) is a sum of products; the
same sum over absolute values bounds how much rounding can move it.
"""

from __future__ import annotations

import numpy as np

from .fast import conv2d, conv2d_backward


def conv2d_scale(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry) -> np.ndarray:
    return conv2d(np.abs(x), np.abs(w), None if b is None else np.abs(b), **geometry)


def conv2d_backward_scales(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, **geometry
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    dx, dw, db = conv2d_backward(
        np.abs(dy), np.abs(x), np.abs(w), None if b is None else np.abs(b), **geometry
    )
    assert dx is not None  # need_dx is left at True
    return dx, dw, db


# ---------------------------------------------------------------- normwise scales
# An algorithm that transforms whole planes (FFT) or tiles (Winograd) before it
# multiplies has an error bounded by the norms of the planes it correlates, not
# by each output's own terms.  For a correlation of planes a and b through a
# transform, ||error||_2 <= c u log2(L) ||a||_2 ||b||_1 (docs/tolerances.md), and
# every output plane sums such correlations over channels (or, for dw, over the
# batch); a and b may swap roles.  Each scale below is the sum, over those pairs,
# of min(||a||_2 ||b||_1, ||a||_1 ||b||_2): one value per output plane, shaped to
# broadcast against the output.  It is at least the largest
# elementwise scale of the plane (Hoelder), so it only ever widens a tolerance.


def _plane_norms(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 2-norm and the 1-norm of each plane [i, j] of a 4-D array, as (I, J) arrays.

    Non-finite elements count as 0: they make their outputs non-finite, which are
    compared exactly, and must not make the whole plane's tolerance infinite or NaN.
    """
    array = np.asarray(array, dtype=np.float64)
    flat = np.abs(np.where(np.isfinite(array), array, 0.0)).reshape(*array.shape[:2], -1)
    return np.sqrt(np.sum(flat * flat, axis=-1)), np.sum(flat, axis=-1)


def _correlation_scale(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum_k min(||a[i, k]||_2 ||b[k, j]||_1, ||a[i, k]||_1 ||b[k, j]||_2), as (I, J).

    Both products bound the correlation of the two planes (either may be the
    one whose transform is bounded by its 1-norm); the smaller is the tighter.
    ``a`` is (I, K, h, w) and ``b`` (K, J, h', w').
    """
    a2, a1 = _plane_norms(a)
    b2, b1 = _plane_norms(b)
    pairs = np.minimum(a2[:, :, None] * b1[None], a1[:, :, None] * b2[None])
    return pairs.sum(axis=1)


def _by_group(array: np.ndarray, groups: int) -> np.ndarray:
    """(A, G*B, ...) -> (G, A, B, ...): each group's block of the second axis."""
    a, gb = array.shape[:2]
    return np.moveaxis(array.reshape(a, groups, gb // groups, *array.shape[2:]), 1, 0)


def conv2d_norm_scale(x: np.ndarray, w: np.ndarray, *, groups: int = 1) -> np.ndarray:
    """Per output plane (n, o): sum over its input channels c of the norms of x[n, c], w[o, c].

    Shaped (N, O, 1, 1).  Padding, stride and dilation change no norm.
    """
    xs = _by_group(x, groups)  # (G, N, C/G, h, w)
    ws = _by_group(np.swapaxes(w, 0, 1), groups)  # (G, C/G, O/G, kh, kw)
    per_group = [_correlation_scale(xs[g], ws[g]) for g in range(groups)]  # (N, O/G) each
    return np.concatenate(per_group, axis=1)[:, :, None, None]


def conv2d_backward_norm_scales(
    dy: np.ndarray, x: np.ndarray, w: np.ndarray, *, groups: int = 1
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The normwise scales of dx (N, C, 1, 1), dw (O, C/G, 1, 1) and db (zero: a plain sum).

    dx[n, c] correlates dy[n, o] with w[o, c] over the group's output channels o;
    dw[o, c] correlates x[n, c] with dy[n, o] over the batch.
    """
    dys = _by_group(dy, groups)  # (G, N, O/G, oh, ow)
    ws = _by_group(np.swapaxes(w, 0, 1), groups)  # (G, C/G, O/G, kh, kw)
    dx = np.concatenate(
        [_correlation_scale(dys[g], np.swapaxes(ws[g], 0, 1)) for g in range(groups)], axis=1
    )
    xs = _by_group(x, groups)  # (G, N, C/G, h, w)
    dw = np.concatenate(
        [_correlation_scale(np.swapaxes(dys[g], 0, 1), xs[g]) for g in range(groups)], axis=0
    )
    return dx[:, :, None, None], dw[:, :, None, None], np.zeros(w.shape[0])
