"""avg_pool2d's examples: ``AvgPoolCase``, a printable recipe, and ``avg_pool_cases``, the
strategy that draws them valid by construction (see ``cnnref.strategies`` for what they share)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from functools import cached_property, partial
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
from .geometry import AvgPoolGeometry

# What leaving each optional argument out means, as PyTorch defines it.
AVG_POOL_DEFAULTS = {
    "stride": None,
    "padding": (0, 0),
    "ceil_mode": False,
    "count_include_pad": True,
    "divisor_override": None,
}
# What x holds: finite normals, or normals with NaN, inf and -inf among them (they must
# reach the outputs of the windows that hold them, and only those).
X_VALUES = ("finite", "nonfinite")
# divisor_override values, simplest first: PyTorch takes any nonzero int, negative included.
DIVISOR_OVERRIDES = st.integers(1, 12) | st.integers(-4, -1)


class AvgPoolArrays(NamedTuple):
    x: np.ndarray
    dy: np.ndarray


@dataclass(frozen=True)
class AvgPoolCase:
    """One avg_pool2d example."""

    batch: int
    channels: int
    height: int
    width: int
    kernel_size: Pair
    stride: Pair | None = None
    padding: Pair = (0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    dtype: str = "float64"
    layout: str = "contiguous"
    seed: int = 0
    as_int: tuple[str, ...] = ()  # arguments passed as a plain int
    omitted: tuple[str, ...] = ()  # arguments left out
    dy_values: str = "finite"
    x_values: str = "finite"

    DEFAULTS: ClassVar[dict] = AVG_POOL_DEFAULTS

    def __post_init__(self) -> None:
        check_spelling(self)
        if self.x_values not in X_VALUES:
            raise ValueError(
                f"AvgPoolCase: x_values must be one of {X_VALUES}; got {self.x_values!r}"
            )

    @property
    def arguments(self) -> dict:
        """Every argument a caller may spell: the geometry."""
        return self.geometry

    @property
    def geometry(self) -> dict:
        """Keyword arguments for avg_pool2d and avg_pool2d_backward."""
        return {
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
            "ceil_mode": self.ceil_mode,
            "count_include_pad": self.count_include_pad,
            "divisor_override": self.divisor_override,
        }

    def spell(self, *operands: np.ndarray) -> tuple[tuple, dict]:
        """``(args, kwargs)`` of a call to avg_pool2d (x) or avg_pool2d_backward (dy, x)."""
        return spell(operands, self.geometry, self.as_int, self.omitted)

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.batch, self.channels, self.height, self.width)

    @cached_property  # the geometry's arithmetic, asked for at every candidate call
    def y_shape(self) -> tuple[int, ...]:
        return AvgPoolGeometry.from_args(**self.geometry).output_shape(self.x_shape)

    def arrays(self) -> AvgPoolArrays:
        rng = np.random.default_rng(self.seed)
        x, dy = normal_arrays(rng, (self.x_shape, self.y_shape), self.dtype, self.seed)
        if self.dy_values == "nonfinite":
            dy = with_nonfinite(dy, rng)
        if self.x_values == "nonfinite":  # drawn last: the finite arrays stay the same
            x = with_nonfinite(x, rng)
        return AvgPoolArrays(with_layout(x, self.layout), with_layout(dy, self.layout))

    def coverage(self) -> dict[str, str]:
        """What this case exercises, for Hypothesis events and the report's coverage tables."""
        return draws.common_coverage(self) | {
            "ceil_mode": str(self.ceil_mode),
            "count_include_pad": str(self.count_include_pad),
            "divisor_override": "None" if self.divisor_override is None else "given",
            "x": self.x_values,
            "channels": draws.bucket(self.channels, (1, 4, 16)),
        }

    def sizes_reached(self) -> list[str]:
        return sizes_reached(self.batch, self.channels, self.height, self.width)

    def settings_needed(self) -> list[str]:
        """The settings of a shrunk failing example that are away from their defaults."""
        needed = geometry_needed(self, {"stride": (1, 1), "padding": (0, 0)})
        needed += ["ceil_mode=True"] if self.ceil_mode else []
        needed += ["count_include_pad=False"] if not self.count_include_pad else []
        if self.divisor_override is not None:
            needed.append(f"divisor_override={self.divisor_override}")
        return needed + (["NaN and inf in x"] if self.x_values != "finite" else [])


@st.composite
def avg_pool_cases(
    draw: st.DrawFn,
    *,
    dtype: str | None = None,
    unsupported: Collection[str] = frozenset(),
    windows: str = "partial",
    dy_values: Collection[str] = ("finite",),
    sizes: Sequence[SizeClass] = SIZE_CLASSES,
    x_values: Collection[str] = ("finite",),
) -> AvgPoolCase:
    """Valid avg_pool2d examples of every geometry and divisor rule not listed in ``unsupported``.

    ``dtype``, ``dy_values`` and ``sizes`` as for ``conv_cases``; ``windows`` as for
    ``pool_cases``; ``x_values=X_VALUES`` also draws x with NaN, inf and -inf.  PyTorch's padding rule (at most half the kernel) and ceil_mode's
    rule (a last window starts before the right padding) mean every window reads at
    least one input element, so nothing drawn is discarded.
    """
    off = check_features(unsupported)
    size = draw(st.sampled_from(sizes))
    # Padding is where the divisor rules differ, so when it is on it is never (0, 0): the
    # kernel then has a side of 2 or more, and the padding a nonzero side.
    padded = draws.optional(draw, "pool_padding", off, False, st.just(True))
    kernels = draws.pairs(st.integers(1, size.max_kernel), off)
    kernel = draw(kernels.filter(lambda k: max(k) >= 2) if padded else kernels)
    padding = (
        draw(draws.pool_padding(kernel, off).filter(lambda p: p != (0, 0))) if padded else (0, 0)
    )
    explicit_stride = st.just(kernel) if "stride" in off else draws.pairs(st.integers(1, 4), off)
    stride = draws.optional(draw, "stride_none", off, None, explicit_stride, on_when_off=True)
    ceil_mode = draws.optional(draw, "ceil_mode", off, False, st.just(True))
    count_include_pad = draws.optional(draw, "count_include_pad", off, True, st.just(False))
    divisor_override = draws.optional(draw, "divisor_override", off, None, DIVISOR_OVERRIDES)
    exact = draws.windows_exact(windows)
    sides = draws.sides_that_fit(
        size, kernel, padding, (1, 1), off, (stride or kernel) if exact else None
    )
    if ceil_mode and not exact and max(stride or kernel) > 1:
        # ceil_mode matters only where it adds a last window, partly past the padded input:
        # the window whose divisor count_include_pad and the overhang rule decide.
        geometry = AvgPoolGeometry(kernel, stride or kernel, padding, ceil_mode=True)
        sides = sides.filter(partial(_ceil_adds_a_window, geometry))
    height, width = draw(sides)
    case = AvgPoolCase(
        batch=draw(st.integers(*size.batch)),
        channels=draw(st.integers(*size.channels)),
        height=height,
        width=width,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
        dtype=draw(draws.dtypes(dtype, off)),
        layout=draw(draws.layouts(off)),
        seed=draw(st.integers(0, 2**32 - 1)),
        dy_values=draw(draws.dy_values(dy_values, off)),
        x_values="finite"
        if "nonfinite_x" in off or "nonfinite" not in x_values
        else draw(st.sampled_from(X_VALUES)),
    )
    return draw(draws.spelled(case, off))


def _ceil_adds_a_window(geometry: AvgPoolGeometry, sides: Pair) -> bool:
    floor = replace(geometry, ceil_mode=False)
    shape = (1, 1, *sides)
    return geometry.output_shape(shape) != floor.output_shape(shape)


__all__ = [
    "AVG_POOL_DEFAULTS",
    "AvgPoolArrays",
    "AvgPoolCase",
    "avg_pool_cases",
]
