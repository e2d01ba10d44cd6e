"""conv_transpose2d's examples: ``ConvTransposeCase``, a printable recipe, and
``conv_transpose_cases``, the strategy that draws them valid by construction (see
``cnnref.strategies`` for what they share)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar

from hypothesis import strategies as st

from ...declarations import check_features
from ...strategies import draws
from ...strategies.draws import SIZE_CLASSES, SizeClass
from ...strategies.families import ConvolutionArrays, ConvolutionShape
from ..arguments import Pair, effective_kernel
from .geometry import ConvTransposeGeometry

ConvTransposeArrays = ConvolutionArrays


@dataclass(frozen=True, repr=False)
class ConvTransposeCase(ConvolutionShape):
    """One conv_transpose2d example; w is (in_channels, out_channels/groups, kh, kw)."""

    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = True

    OP: ClassVar[str] = "conv_transpose2d"
    GEOMETRY: ClassVar[type] = ConvTransposeGeometry
    OWN_COVERAGE: ClassVar[tuple[str, ...]] = ("output_padding",)

    @property
    def w_shape(self) -> tuple[int, ...]:
        return (self.in_channels, self.out_channels // self.groups, *self.kernel_size)


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
    groups, kernel, stride, padding, dilation = draws.convolution_geometry(
        draw, size, off, max_stride=3
    )
    output_padding = draws.optional(
        draw, "output_padding", off, (0, 0), output_paddings(stride, dilation, off)
    )
    sides = draw(sides_with_output(size, kernel, stride, padding, output_padding, dilation, off))
    geometry = {
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "output_padding": output_padding,
        "dilation": dilation,
    }
    case = draws.convolution_case(
        draw, ConvTransposeCase, size, off, dtype, dy_values, sides, groups, geometry
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


# What leaving each optional argument out means, as PyTorch defines it ("b": no bias).
CONV_TRANSPOSE_DEFAULTS = ConvTransposeCase.DEFAULTS

__all__ = [
    "CONV_TRANSPOSE_DEFAULTS",
    "ConvTransposeArrays",
    "ConvTransposeCase",
    "conv_transpose_cases",
]
