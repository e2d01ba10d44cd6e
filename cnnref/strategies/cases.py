"""Examples as small, printable recipes: a geometry, shapes, and a seed for the values.

A case holds no arrays.  ``case.arrays()`` builds them from a NumPy seed, so
a case shrinks quickly (Hypothesis shrinks a handful of integers, not a
million floats), and its ``repr`` is a line of Python that reproduces the
example exactly.

A case also says how a caller spells the call: ``case.geometry`` is every
argument as an (h, w) pair, for the oracles; ``case.spell(*operands)`` is the
call as the candidate receives it, with the arguments named in ``as_int``
passed as a plain int and those in ``omitted`` left out, so that the
candidate's own defaults apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, NamedTuple

import numpy as np

from ..reference.geometry import ConvGeometry, Pair, PoolGeometry
from .layouts import with_layout

# Pool values, simplest first (Hypothesis shrinks towards the first).
POOL_VALUES = ("distinct", "ties", "nan", "neginf")
# What dy holds: finite normals, or normals with NaN, inf and -inf among them.
DY_VALUES = ("finite", "nonfinite")
DTYPES = ("float64", "float32")
# What leaving each optional argument out means, as PyTorch defines it ("b": no bias).
CONV_DEFAULTS = {"b": None, "stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}
POOL_DEFAULTS = {"stride": None, "padding": (0, 0), "dilation": (1, 1), "ceil_mode": False}
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
    as_int: tuple[str, ...] = ()  # arguments passed as a plain int
    omitted: tuple[str, ...] = ()  # arguments left out ("b" included)
    dy_values: str = "finite"

    # What leaving out each optional argument means (``omitted`` may name these).
    DEFAULTS: ClassVar[dict] = CONV_DEFAULTS

    def __post_init__(self) -> None:
        check_spelling(self)

    @property
    def arguments(self) -> dict:
        """Every argument a caller may spell: the geometry, and ``b`` (None without a bias)."""
        return self.geometry | {"b": "given" if self.bias else None}

    @property
    def geometry(self) -> dict:
        """Keyword arguments for conv2d and conv2d_backward."""
        return {
            "stride": self.stride,
            "padding": self.padding,
            "dilation": self.dilation,
            "groups": self.groups,
        }

    def spell(self, *operands: np.ndarray | None) -> tuple[tuple, dict]:
        """``(args, kwargs)`` of a call to conv2d (x, w, b) or conv2d_backward (dy, x, w, b)."""
        return spell(operands, self.geometry, self.as_int, self.omitted)

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
        if self.dy_values == "nonfinite":
            dy = with_layout(with_nonfinite(dy, rng), self.layout)
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
    as_int: tuple[str, ...] = ()  # arguments passed as a plain int
    omitted: tuple[str, ...] = ()  # arguments left out
    dy_values: str = "finite"

    DEFAULTS: ClassVar[dict] = POOL_DEFAULTS

    def __post_init__(self) -> None:
        check_spelling(self)

    @property
    def arguments(self) -> dict:
        """Every argument a caller may spell: the geometry."""
        return self.geometry

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

    def spell(self, *operands: np.ndarray) -> tuple[tuple, dict]:
        """``(args, kwargs)`` of a call to max_pool2d (x) or max_pool2d_backward (dy, x)."""
        return spell(operands, self.geometry, self.as_int, self.omitted)

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
        if self.dy_values == "nonfinite":
            dy = with_nonfinite(dy, rng)
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


def with_nonfinite(dy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``dy`` with NaN, inf and -inf among its values, at least one NaN.

    The values are drawn after every finite array, so a case's finite arrays
    do not depend on ``dy_values``.
    """
    dy = np.array(dy, order="C")
    kind = rng.random(dy.shape)
    dy[kind < 0.1] = np.nan
    dy[(kind >= 0.1) & (kind < 0.15)] = np.inf
    dy[(kind >= 0.15) & (kind < 0.2)] = -np.inf
    if dy.size:
        dy.flat[rng.integers(dy.size)] = np.nan
    return dy


def spell(
    operands: tuple, geometry: dict, as_int: tuple[str, ...], omitted: tuple[str, ...]
) -> tuple[tuple, dict]:
    """A call as a caller writes it: a trailing ``b=None`` and the omitted arguments left out."""
    if "b" in omitted and operands and operands[-1] is None:
        operands = operands[:-1]
    kwargs = {
        name: value[0] if name in as_int else value
        for name, value in geometry.items()
        if name not in omitted
    }
    return operands, kwargs


def check_spelling(case: ConvCase | PoolCase) -> None:
    """ValueError unless each omitted argument is at its default and each int stands for a square pair."""
    name, values, defaults = type(case).__name__, case.arguments, case.DEFAULTS
    for argument in case.omitted:
        if argument not in defaults or values.get(argument) != defaults[argument]:
            raise ValueError(
                f"{name}: omitted={case.omitted!r} leaves out {argument!r}, but only an optional "
                f"argument at its default can be left out ({defaults})"
            )
    for argument in case.as_int:
        value = values.get(argument)
        if not (isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]):
            raise ValueError(
                f"{name}: as_int={case.as_int!r} names {argument!r}, which is {value!r}; "
                "only a square (h, w) pair can be passed as a plain int"
            )
    if case.dy_values not in DY_VALUES:
        raise ValueError(f"{name}: dy_values must be one of {DY_VALUES}; got {case.dy_values!r}")
