"""Name the bug behind a wrong adaptive_max_pool2d or adaptive_max_pool2d_backward result
(see cnnref/checks/hints.py).

The forward's bugs are adaptive_avg_pool2d's window rules (its hints.py) and
NaN skipped; the backward's are where a window routes dL/dY: to the last of
tied maxima, to the first NaN (``np.argmax``), to every tied maximum (a mask
``x == max``), or written rather than added where overlapping windows select
one element (``dx[index] = dy``, or ``+=`` through a fancy index).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np

from ...checks.hints import Variant, explain_case
from ..adaptive_avg_pool2d.cases import AdaptivePoolCase
from ..adaptive_avg_pool2d.hints import (
    pooled,
    reads_per_input,
    shape_hints,
    window_variants,
)
from ..adaptive_avg_pool2d.literal import window

__all__ = [
    "SHARED_INPUTS_ONLY",
    "backward_variants",
    "forward_hints",
    "reads_per_input",
    "shape_hints",
]

NAN_SKIPPED = (
    "y matches skipping NaN (np.nanmax): PyTorch's maximum of a window that holds NaN is NaN"
)
# A routing rule: a window's values (row-major) -> the positions in it that get dY.
Routing = Callable[[np.ndarray], list[int]]
ROUTINGS: dict[str, Routing] = {
    "dx matches routing a tie to the last maximum (>= in the scan): PyTorch routes it to the "
    "first, and a NaN to the last NaN": lambda v: [
        _last_nan(v) if np.isnan(v).any() else int(np.flatnonzero(v == v.max())[-1])
    ],
    "dx matches routing a window that holds NaN to its first NaN (np.argmax): PyTorch's scan "
    "takes any NaN over the best so far, so the last NaN wins": lambda v: [int(np.argmax(v))],
    "dx matches giving dY to every element equal to the window's maximum (a mask x == max): "
    "PyTorch routes it to one element, the first maximum (a NaN maximum to the last NaN, "
    "which no mask x == max finds)": lambda v: _all_maxima(v),
}
ASSIGNED = (
    "dx matches writing each window's dY at its maximum rather than adding it: where "
    "overlapping windows select the same element, the contributions must add up (a fancy "
    "index `dx[idx] += dy` keeps one of them; use np.add.at)"
)
SHARED_INPUTS_ONLY = (
    "only elements that several windows select are wrong: each window must ADD its dY there"
)


def _last_nan(values: np.ndarray) -> int:
    return int(np.flatnonzero(np.isnan(values))[-1])


def _all_maxima(values: np.ndarray) -> list[int]:
    top = np.nan if np.isnan(values).any() else values.max()
    return [int(k) for k in np.flatnonzero(values == top)]


def _pytorch(values: np.ndarray) -> list[int]:
    if np.isnan(values).any():
        return [_last_nan(values)]
    return [int(np.flatnonzero(values == values.max())[0])]


def routed(x: np.ndarray, dy: np.ndarray, routing: Routing, assign: bool = False) -> np.ndarray:
    """dx when each cell gives its dY to the elements ``routing`` picks in its window (adding,
    or with ``assign`` writing over what is there)."""
    (height, width), (oh, ow) = x.shape[2:], dy.shape[2:]
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dy.shape):
        rows, cols = window(i, oh, height), window(j, ow, width)
        values = np.asarray(x[n, c, rows.start : rows.stop, cols.start : cols.stop], np.float64)
        for k in routing(values.ravel()):
            u, v = rows.start + k // len(cols), cols.start + k % len(cols)
            dx[n, c, u, v] = dy[n, c, i, j] + (0.0 if assign else dx[n, c, u, v])
    return dx


def _max_with_nan(block: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(block).any(axis=-1), np.nan, block.max(axis=-1))


def _nan_skipped(block: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(block).all(axis=-1), np.nan, np.fmax.reduce(block, axis=-1))


def forward_hints(
    case: AdaptivePoolCase, x: np.ndarray, expected: np.ndarray, actual: np.ndarray, comparison
) -> list[str]:
    """Hints for a wrong adaptive_max_pool2d output: a mistaken window rule, or NaN skipped."""
    out_size = case.y_shape[2:]
    variants = window_variants(lambda rule: pooled(x, out_size, rule, _max_with_nan), "y")
    if np.isnan(x).any():
        variants.append((NAN_SKIPPED, lambda: pooled(x, out_size, window, _nan_skipped)))
    return explain_case(case, comparison, actual, expected, 0.0, variants=variants)


def backward_variants(case: AdaptivePoolCase, x: np.ndarray, dy: np.ndarray) -> list[Variant]:
    """What a wrong dx may match: a routing rule other than PyTorch's, or overlaps written
    over."""
    variants: list[Variant] = [
        (description, partial(routed, x, dy, routing)) for description, routing in ROUTINGS.items()
    ]
    variants.append((ASSIGNED, partial(routed, x, dy, _pytorch, True)))
    return variants
