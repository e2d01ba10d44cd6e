"""conv2d's examples: ``ConvCase``, a printable recipe, and ``conv_cases``, the strategy
that draws them valid by construction (see ``cnnref.strategies`` for what they share)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar

from hypothesis import strategies as st

from ...declarations import check_features
from ...strategies import draws
from ...strategies.draws import SIZE_CLASSES, SizeClass
from ...strategies.families import ConvolutionArrays, ConvolutionShape
from ..arguments import Pair
from .geometry import ConvGeometry

ConvArrays = ConvolutionArrays


@dataclass(frozen=True, repr=False)
class ConvCase(ConvolutionShape):
    """One conv2d example."""

    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True

    OP: ClassVar[str] = "conv2d"
    GEOMETRY: ClassVar[type] = ConvGeometry

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel_size)


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
    groups, kernel, stride, padding, dilation = draws.convolution_geometry(
        draw, size, off, max_stride=4
    )
    exact = draws.windows_exact(windows)
    sides = draw(
        draws.sides_that_fit(size, kernel, padding, dilation, off, stride if exact else None)
    )
    geometry = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    case = draws.convolution_case(
        draw, ConvCase, size, off, dtype, dy_values, sides, groups, geometry
    )
    return draw(draws.spelled(case, off))


# What leaving each optional argument out means, as PyTorch defines it ("b": no bias).
CONV_DEFAULTS = ConvCase.DEFAULTS

__all__ = ["CONV_DEFAULTS", "ConvArrays", "ConvCase", "conv_cases"]
