"""conv2d's examples: ``ConvCase``, a printable recipe, and ``conv_cases``, the strategy
that draws them valid by construction (see ``cnnref.strategies`` for what they share)."""

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
from ..arguments import Pair
from .geometry import ConvGeometry

# What leaving each optional argument out means, as PyTorch defines it ("b": no bias).
CONV_DEFAULTS = {"b": None, "stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}


class ConvArrays(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
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
        shapes = (self.x_shape, self.w_shape, self.y_shape)
        x, w, dy = (
            with_layout(a, self.layout) for a in normal_arrays(rng, shapes, self.dtype, self.seed)
        )
        b = rng.standard_normal(self.out_channels).astype(self.dtype) if self.bias else None
        if self.dy_values == "nonfinite":
            dy = with_layout(with_nonfinite(dy, rng), self.layout)
        return ConvArrays(x, w, b, dy)

    def coverage(self) -> dict[str, str]:
        """What this case exercises, for Hypothesis events and the report's coverage tables."""
        return draws.common_coverage(self) | {
            "groups": str(self.groups),
            "channels": draws.bucket(max(self.in_channels, self.out_channels), (1, 4, 16)),
            "bias": str(self.bias),
        }

    def sizes_reached(self) -> list[str]:
        channels = max(self.in_channels, self.out_channels)
        return sizes_reached(self.batch, channels, self.height, self.width)

    def settings_needed(self) -> list[str]:
        """The settings of a shrunk failing example that are away from their defaults."""
        needed = geometry_needed(self, {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1)})
        return needed + ([f"groups={self.groups}"] if self.groups > 1 else [])


@st.composite
def conv_cases(
    draw: st.DrawFn,
    *,
    dtype: str | None = None,
    unsupported: Collection[str] = frozenset(),
    dy_values: Collection[str] = ("finite",),
    sizes: Sequence[SizeClass] = SIZE_CLASSES,
    windows: str = "partial",
) -> ConvCase:
    """Valid conv2d examples of every geometry not listed in ``unsupported``.

    ``windows="exact"``: only sides whose windows tile the padded input exactly.

    ``dtype=None`` draws float64 and float32 (float64 alone if "float32" is
    unsupported); ``dy_values=("finite", "nonfinite")`` also draws dy with NaN and inf.
    ``sizes``: the size classes to draw from (``SIZE_CLASSES[:1]``: only small examples).
    """
    off = check_features(unsupported)
    size = draw(st.sampled_from(sizes))
    # Each feature is switched on half the time, then given a value: an even spread that
    # shrinks to "off" whenever the failure does not need it.
    groups = draws.optional(draw, "groups", off, 1, st.integers(2, 3))
    kernel = draw(draws.pairs(st.integers(1, size.max_kernel), off))
    stride = draws.optional(draw, "stride", off, (1, 1), draws.pairs(st.integers(1, 4), off))
    padding = draws.optional(draw, "conv_padding", off, (0, 0), draws.pairs(st.integers(0, 3), off))
    dilation = draws.optional(draw, "dilation", off, (1, 1), draws.pairs(st.integers(1, 3), off))
    exact = draws.windows_exact(windows)
    height, width = draw(
        draws.sides_that_fit(size, kernel, padding, dilation, off, stride if exact else None)
    )
    case = ConvCase(
        batch=draw(st.integers(*size.batch)),
        in_channels=groups * draw(st.integers(*size.channels)),
        out_channels=groups * draw(st.integers(*size.channels)),
        height=height,
        width=width,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=False if "bias" in off else draw(st.booleans()),
        dtype=draw(draws.dtypes(dtype, off)),
        layout=draw(draws.layouts(off)),
        seed=draw(st.integers(0, 2**32 - 1)),
        dy_values=draw(draws.dy_values(dy_values, off)),
    )
    return draw(draws.spelled(case, off))


__all__ = ["CONV_DEFAULTS", "ConvArrays", "ConvCase", "conv_cases"]
