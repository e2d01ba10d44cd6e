"""conv_transpose2d's examples: ``ConvTransposeCase``, a printable recipe, and
``conv_transpose_cases``, the strategy that draws them valid by construction (see
``cnnref.strategies`` for what they share)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar, NamedTuple

import numpy as np
from hypothesis import strategies as st

from ...declarations import check_features
from ...strategies import draws
from ...strategies.cases import (
    check_spelling,
    geometry_needed,
    normal_arrays,
    sizes_reached,
    spell,
    with_nonfinite,
)
from ...strategies.draws import SIZE_CLASSES, SizeClass
from ...strategies.layouts import with_layout
from ..arguments import Pair, effective_kernel
from .geometry import ConvTransposeGeometry

# What leaving each optional argument out means, as PyTorch defines it ("b": no bias).
CONV_TRANSPOSE_DEFAULTS = {
    "b": None,
    "stride": (1, 1),
    "padding": (0, 0),
    "output_padding": (0, 0),
    "groups": 1,
    "dilation": (1, 1),
}


class ConvTransposeArrays(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    dy: np.ndarray


@dataclass(frozen=True)
class ConvTransposeCase:
    """One conv_transpose2d example; w is (in_channels, out_channels/groups, kh, kw)."""

    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel_size: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    output_padding: Pair = (0, 0)
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
    DEFAULTS: ClassVar[dict] = CONV_TRANSPOSE_DEFAULTS

    def __post_init__(self) -> None:
        check_spelling(self)

    @property
    def arguments(self) -> dict:
        """Every argument a caller may spell: the geometry, and ``b`` (None without a bias)."""
        return self.geometry | {"b": "given" if self.bias else None}

    @property
    def geometry(self) -> dict:
        """Keyword arguments for conv_transpose2d and conv_transpose2d_backward."""
        return {
            "stride": self.stride,
            "padding": self.padding,
            "output_padding": self.output_padding,
            "groups": self.groups,
            "dilation": self.dilation,
        }

    def spell(self, *operands: np.ndarray | None) -> tuple[tuple, dict]:
        """``(args, kwargs)`` of a call to conv_transpose2d (x, w, b) or its backward (dy, x, w, b)."""
        return spell(operands, self.geometry, self.as_int, self.omitted)

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)

    @cached_property  # the geometry's arithmetic, asked for at every candidate call
    def y_shape(self) -> tuple[int, ...]:
        return ConvTransposeGeometry(**self.geometry).output_shape(self.x_shape, self.w_shape)

    def arrays(self) -> ConvTransposeArrays:
        rng = np.random.default_rng(self.seed)
        shapes = (self.x_shape, self.w_shape, self.y_shape)
        x, w, dy = (
            with_layout(a, self.layout) for a in normal_arrays(rng, shapes, self.dtype, self.seed)
        )
        b = rng.standard_normal(self.out_channels).astype(self.dtype) if self.bias else None
        if self.dy_values == "nonfinite":
            dy = with_layout(with_nonfinite(dy, rng), self.layout)
        return ConvTransposeArrays(x, w, b, dy)

    def coverage(self) -> dict[str, str]:
        """What this case exercises, for Hypothesis events and the report's coverage tables."""
        return draws.common_coverage(self) | {
            "output_padding": str(self.output_padding),
            "groups": str(self.groups),
            "channels": draws.bucket(max(self.in_channels, self.out_channels), (1, 4, 16)),
            "bias": str(self.bias),
        }

    def sizes_reached(self) -> list[str]:
        channels = max(self.in_channels, self.out_channels)
        return sizes_reached(self.batch, channels, self.height, self.width)

    def settings_needed(self) -> list[str]:
        """The settings of a shrunk failing example that are away from their defaults."""
        needed = geometry_needed(
            self,
            {"stride": (1, 1), "padding": (0, 0), "output_padding": (0, 0), "dilation": (1, 1)},
        )
        return needed + ([f"groups={self.groups}"] if self.groups > 1 else [])


@st.composite
def conv_transpose_cases(
    draw: st.DrawFn,
    *,
    dtype: str | None = None,
    unsupported: Collection[str] = frozenset(),
    dy_values: Collection[str] = ("finite",),
    sizes: Sequence[SizeClass] = SIZE_CLASSES,
) -> ConvTransposeCase:
    """Valid conv_transpose2d examples of every geometry not listed in ``unsupported``.

    ``dtype=None`` draws float64 and float32 (float64 alone if "float32" is
    unsupported); ``dy_values=("finite", "nonfinite")`` also draws dy with NaN and inf.
    ``sizes``: the size classes to draw from (``SIZE_CLASSES[:1]``: only small examples).
    Strides stop at 3, since the output grows with them (a 56-pixel side gives 168).
    """
    off = check_features(unsupported)
    size = draw(st.sampled_from(sizes))
    # Each feature is switched on half the time, then given a value: an even spread that
    # shrinks to "off" whenever the failure does not need it.
    groups = draws.optional(draw, "groups", off, 1, st.integers(2, 3))
    kernel = draw(draws.pairs(st.integers(1, size.max_kernel), off))
    stride = draws.optional(draw, "stride", off, (1, 1), draws.pairs(st.integers(1, 3), off))
    padding = draws.optional(draw, "conv_padding", off, (0, 0), draws.pairs(st.integers(0, 3), off))
    dilation = draws.optional(draw, "dilation", off, (1, 1), draws.pairs(st.integers(1, 3), off))
    output_padding = draws.optional(
        draw, "output_padding", off, (0, 0), output_paddings(stride, dilation, off)
    )
    height, width = draw(
        sides_with_output(size, kernel, stride, padding, output_padding, dilation, off)
    )
    case = ConvTransposeCase(
        batch=draw(st.integers(*size.batch)),
        in_channels=groups * draw(st.integers(*size.channels)),
        out_channels=groups * draw(st.integers(*size.channels)),
        height=height,
        width=width,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
        groups=groups,
        bias=False if "bias" in off else draw(st.booleans()),
        dtype=draw(draws.dtypes(dtype, off)),
        layout=draw(draws.layouts(off)),
        seed=draw(st.integers(0, 2**32 - 1)),
        dy_values=draw(draws.dy_values(dy_values, off)),
    )
    return draw(draws.spelled(case, off))


def output_paddings(stride: Pair, dilation: Pair, off: frozenset[str]) -> st.SearchStrategy[Pair]:
    """output_padding PyTorch accepts: below the stride or the dilation on each axis.

    With (1, 1) for both, only (0, 0) is allowed: drawn anyway, it is the default.
    """
    limits = [max(s, d) - 1 for s, d in zip(stride, dilation)]
    if "non_square_geometry" in off:
        return st.integers(0, min(limits)).map(lambda p: (p, p))
    return st.tuples(*(st.integers(0, limit) for limit in limits))


def sides_with_output(
    size: SizeClass,
    kernel: Pair,
    stride: Pair,
    padding: Pair,
    output_padding: Pair,
    dilation: Pair,
    off: frozenset[str],
) -> st.SearchStrategy[Pair]:
    """Input sides within the size class that leave at least one output pixel.

    The output side is ``(side - 1)*s - 2p + d*(k - 1) + output_padding + 1``, so a
    padding that crops more than the kernel's reach needs a longer input.
    """
    smallest = []
    for k, s, p, op, d in zip(kernel, stride, padding, output_padding, dilation):
        short = 2 * p - (effective_kernel(k, d) - 1) - op  # what (side - 1)*s must reach
        smallest.append(max(size.side[0], 1 + max(0, -(-short // s))))
    if "non_square_input" in off:
        low = max(smallest)
        return st.integers(low, max(low, size.side[1])).map(lambda side: (side, side))
    return st.tuples(*(st.integers(low, max(low, size.side[1])) for low in smallest))


__all__ = [
    "CONV_TRANSPOSE_DEFAULTS",
    "ConvTransposeArrays",
    "ConvTransposeCase",
    "conv_transpose_cases",
]
