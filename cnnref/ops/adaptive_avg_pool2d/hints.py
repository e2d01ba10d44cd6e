"""Name the bug behind a wrong adaptive pooling result (see cnnref/checks/hints.py).

Most adaptive pooling bugs put a window in the wrong place: an index rounded
the wrong way, or one window size for every cell.  Each such rule is written
here as where it puts cell i of O over a side n, and ``pooled`` runs a pool
under it, so a hint fires only when the candidate's values are exactly what
that rule gives.  adaptive_max_pool2d's hints use the same rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import partial

import numpy as np

from ...checks.hints import Variant, explain_case, nonfinite_spread, shape_evidence
from .cases import AdaptivePoolCase
from .literal import window

# A window rule: (i, O, n) -> the range of positions cell i reads.
Rule = Callable[[int, int, int], range]

# PyTorch's rule, and each mistaken one with what it does.
WINDOW_RULES: dict[str, Rule] = {
    "the windows end at floor((i + 1) * n / O), not ceil: a window whose end is not whole "
    "loses its last row or column (where windows should overlap)": lambda i, o, n: range(
        i * n // o, (i + 1) * n // o
    ),
    "the windows start at ceil(i * n / O), not floor: a window whose start is not whole loses "
    "its first row or column (where windows should overlap)": lambda i, o, n: range(
        -(-i * n // o), -(-(i + 1) * n // o)
    ),
    "windows of n // O elements, n // O apart (avg_pool2d with kernel = stride = n // O): "
    "adaptive windows vary in size and overlap where n / O is not whole": lambda i, o, n: range(
        i * (n // o), (i + 1) * (n // o)
    ),
    "one window size for every cell (stride = n // O, kernel = n - (O - 1) * stride, as some "
    "exporters write adaptive pooling): right only where O divides n": lambda i, o, n: range(
        i * (n // o), i * (n // o) + n - (o - 1) * (n // o)
    ),
}
LARGEST_WINDOW = (
    "y matches dividing every window by ceil(n / O) * ceil(m / P), the largest window's area: "
    "each window divides by its own height and width"
)
NONE_RULE = "(None keeps the input's side on that axis)"
SHARED_INPUTS_ONLY = (
    "only inputs that several windows read are wrong: each cell must ADD its share to the "
    "elements of its window (+=), not assign it"
)


def pooled(
    x: np.ndarray,
    out_size: tuple[int, ...],
    rule: Rule,
    reduce: Callable[[np.ndarray], np.ndarray],
) -> np.ndarray | None:
    """``reduce`` (over the last axis) of each cell's window under ``rule``, in float64: NaN
    for a window the rule leaves empty (0 / 0, as a sum over it divided by its size gives);
    None where the rule reaches past x."""
    height, width = x.shape[2:]
    oh, ow = out_size
    rows = [rule(i, oh, height) for i in range(oh)]
    cols = [rule(j, ow, width) for j in range(ow)]
    if any(r.stop > n for ranges, n in ((rows, height), (cols, width)) for r in ranges):
        return None
    y = np.full((*x.shape[:2], oh, ow), np.nan)
    for (i, r), (j, c) in itertools.product(enumerate(rows), enumerate(cols)):
        if r and c:
            block = np.asarray(x[:, :, r.start : r.stop, c.start : c.stop], np.float64)
            y[:, :, i, j] = reduce(block.reshape(*x.shape[:2], -1))
    return y


def spread(
    dy: np.ndarray, x_shape: tuple[int, ...], rule: Rule, assign: bool = False
) -> np.ndarray | None:
    """The backward of the mean under ``rule``: each cell's dY / window size added to (or, with
    ``assign``, written over) its window; None where the rule leaves a window empty."""
    height, width = x_shape[2:]
    oh, ow = dy.shape[2:]
    dx = np.zeros(x_shape)
    for i in range(oh):
        for j in range(ow):
            r, c = rule(i, oh, height), rule(j, ow, width)
            if not r or not c or r.stop > height or c.stop > width:
                return None
            share = np.asarray(dy[:, :, i, j], np.float64)[:, :, None, None] / (len(r) * len(c))
            target = dx[:, :, r.start : r.stop, c.start : c.stop]
            target[...] = share if assign else target + share
    return dx


def window_variants(compute: Callable[[Rule], np.ndarray | None], output: str) -> list[Variant]:
    """``output`` ("y" or "dx") under each mistaken window rule."""
    return [
        (f"{output} matches this mistake: {description}", partial(compute, rule))
        for description, rule in WINDOW_RULES.items()
    ]


def shape_hints(case: AdaptivePoolCase, actual: np.ndarray) -> list[str]:
    """A None in output_size read as something else than the input's side."""
    if None not in case.output_size:
        return []
    given = [o for o in case.output_size if o is not None]
    mistakes: dict[str, tuple[tuple[int, ...], Callable[[], np.ndarray | None] | None]] = {
        f"None in output_size read as 1 {NONE_RULE}": (
            (*case.y_shape[:2], *(1 if o is None else o for o in case.output_size)),
            None,
        ),
    }
    if given:  # one side None: read as the other side's size
        mistakes[f"None in output_size read as the other side's size {NONE_RULE}"] = (
            (*case.y_shape[:2], given[0], given[0]),
            None,
        )
    return shape_evidence(actual, expected_shape=case.y_shape, mistakes=mistakes)


def mean(block: np.ndarray) -> np.ndarray:
    return block.mean(axis=-1)


def forward_hints(
    case: AdaptivePoolCase,
    x: np.ndarray,
    expected: np.ndarray,
    actual: np.ndarray,
    scale,
    comparison,
) -> list[str]:
    """Hints for a wrong adaptive_avg_pool2d output: a mistaken window rule."""
    (oh, ow), (height, width) = case.y_shape[2:], case.x_shape[2:]
    area = -(-height // oh) * -(-width // ow)
    variants = window_variants(lambda rule: pooled(x, (oh, ow), rule, mean), "y")
    variants.append(
        (LARGEST_WINDOW, lambda: pooled(x, (oh, ow), window, lambda b: b.sum(axis=-1) / area))
    )
    return nonfinite_spread(expected, actual, x, "y", "x") + explain_case(
        case, comparison, actual, expected, scale, variants=variants
    )


def backward_variants(case: AdaptivePoolCase, x: np.ndarray, dy: np.ndarray) -> list[Variant]:
    """What a wrong dx may match: a mistaken window rule, or overlaps assigned instead of
    added (where some inputs, not all, are read by several cells)."""
    variants = window_variants(lambda rule: spread(dy, x.shape, rule), "dx")
    shared = reads_per_input(case) > 1
    if shared.any() and not shared.all():
        variants.append(
            (
                f"dx matches assigning: {SHARED_INPUTS_ONLY}",
                lambda: spread(dy, x.shape, window, True),
            )
        )
    return variants


def reads_per_input(case: AdaptivePoolCase) -> np.ndarray:
    """(H, W): how many cells read each input element."""
    (oh, ow), (height, width) = case.y_shape[2:], case.x_shape[2:]
    rows, cols = np.zeros(height, dtype=int), np.zeros(width, dtype=int)
    for i in range(oh):
        rows[list(window(i, oh, height))] += 1
    for j in range(ow):
        cols[list(window(j, ow, width))] += 1
    return np.multiply.outer(rows, cols)
