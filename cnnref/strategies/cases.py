"""Examples as small, printable recipes: a geometry, shapes, and a seed for the values.

A case holds no arrays.  ``case.arrays()`` builds them from a NumPy seed, so
a case shrinks quickly (Hypothesis shrinks a handful of integers, not a
million floats), and its ``repr`` is a line of Python that reproduces the
example exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

import numpy as np

from ..reference.geometry import ConvGeometry, Pair, PoolGeometry
from .layouts import with_layout

# Pool values, simplest first (Hypothesis shrinks towards the first).
POOL_VALUES = ("distinct", "ties", "nan", "neginf")
# Tie-free pool inputs sit on a grid of this spacing: far above the finite-difference step.
DISTINCT_SPACING = 1 / 8


class ConvArrays(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    dy: np.ndarray


class PoolArrays(NamedTuple):
    x: np.ndarray
    dy: np.ndarray


@dataclass(frozen=True)
class ConvCase:
    """One conv2d example."""

    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel_size: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True
    dtype: str = "float64"
    layout: str = "contiguous"
    seed: int = 0

    @property
    def geometry(self) -> dict:
        """Keyword arguments for conv2d and conv2d_backward."""
        return {
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
        }

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)

    @cached_property  # the geometry's arithmetic, asked for at every candidate call
    def y_shape(self) -> tuple[int, ...]:
        return ConvGeometry(**self.geometry).output_shape(self.x_shape, self.w_shape)

    def arrays(self) -> ConvArrays:
        rng = np.random.default_rng(self.seed)
        x, w, dy = (
            with_layout(rng.standard_normal(shape).astype(self.dtype), self.layout)
            for shape in (self.x_shape, self.w_shape, self.y_shape)
        )
        b = rng.standard_normal(self.out_channels).astype(self.dtype) if self.bias else None
        return ConvArrays(x, w, b, dy)


@dataclass(frozen=True)
class PoolCase:
    """One max_pool2d example; ``values`` says what the input holds (see ``POOL_VALUES``)."""

    batch: int
    channels: int
    height: int
    width: int
    kernel_size: Pair
    stride: Pair | None = None
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    ceil_mode: bool = False
    values: str = "distinct"
    dtype: str = "float64"
    layout: str = "contiguous"
    seed: int = 0

    @property
    def geometry(self) -> dict:
        """Keyword arguments for max_pool2d and max_pool2d_backward."""
        return {
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "ceil_mode": self.ceil_mode,
        }

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.batch, self.channels, self.height, self.width)

    @cached_property  # the geometry's arithmetic, asked for at every candidate call
    def y_shape(self) -> tuple[int, ...]:
        return PoolGeometry.from_args(**self.geometry).output_shape(self.x_shape)

    def arrays(self) -> PoolArrays:
        rng = np.random.default_rng(self.seed)
        x = pool_values(self.values, self.x_shape, rng).astype(self.dtype)
        dy = rng.standard_normal(self.y_shape).astype(self.dtype)
        return PoolArrays(with_layout(x, self.layout), with_layout(dy, self.layout))


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
