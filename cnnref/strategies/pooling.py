"""What the pools' examples share: the values a max pool's input holds (max_pool2d and
adaptive_max_pool2d), and the values of x an averaging pool draws (avg_pool2d and
adaptive_avg_pool2d)."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from hypothesis import strategies as st

# Max pool values, simplest first (Hypothesis shrinks towards the first).
POOL_VALUES = ("distinct", "ties", "nan", "neginf")
# Tie-free pool inputs sit on a grid of this spacing: far above the finite-difference step.
DISTINCT_SPACING = 1 / 8
# What an averaging pool's x holds: finite normals, or normals with NaN, inf and -inf among
# them (they must reach the outputs of the windows that hold them, and only those).
X_VALUES = ("finite", "nonfinite")


def pool_values(kind: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Pool inputs: tie-free on a coarse grid, or rich in ties, NaN and -inf."""
    size = int(np.prod(shape))
    if kind == "distinct":
        # Distinct multiples of 1/8: exact in float32, and no two within a finite-difference step.
        return ((rng.permutation(size) - size // 2) * DISTINCT_SPACING).reshape(shape)
    x = rng.integers(-2, 3, shape).astype(np.float64)  # five values: ties everywhere
    if kind == "ties":
        return x
    if kind == "nan":
        x[rng.random(shape) < 0.15] = np.nan
        return x
    if kind == "neginf":
        # Dense enough that whole windows are -inf.
        x[rng.random(shape) < 0.8] = -np.inf
        return x
    raise ValueError(f"values must be one of {POOL_VALUES}; got {kind!r}")


def allowed_pool_values(values: Collection[str], off: frozenset[str]) -> list[str]:
    """``values`` in ``POOL_VALUES`` order, less NaN and -inf where the candidate lacks them."""
    return [
        v
        for v in POOL_VALUES
        if v in values and not ((v == "nan" and "nan" in off) or (v == "neginf" and "inf" in off))
    ]


def draw_x_values(draw: st.DrawFn, allowed: Collection[str], off: frozenset[str]) -> str:
    """An averaging pool's ``x_values``: "finite", or either where NaN and inf in x are asked
    for (``allowed``) and not turned off."""
    if "nonfinite_x" in off or "nonfinite" not in allowed:
        return "finite"
    return draw(st.sampled_from(X_VALUES))
