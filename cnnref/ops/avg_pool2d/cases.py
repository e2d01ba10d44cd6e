"""avg_pool2d's examples: ``AvgPoolCase``, a printable recipe, and ``avg_pool_cases``, the
strategy that draws them valid by construction (see ``cnnref.strategies`` for what they share)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any, ClassVar, NamedTuple

import numpy as np
from hypothesis import strategies as st

from ...declarations import check_features
from ...strategies import draws
from ...strategies.cases import (
    geometry_needed,
    normal_arrays,
    with_nonfinite,
)
from ...strategies.draws import SIZE_CLASSES, SizeClass
from ...strategies.families import WindowPoolCase
from ...strategies.layouts import with_layout
from ...strategies.pooling import X_VALUES, draw_x_values
from ..arguments import Pair
from .geometry import AvgPoolGeometry

# divisor_override values, simplest first: PyTorch takes any nonzero int, negative included.
DIVISOR_OVERRIDES = st.integers(1, 12) | st.integers(-4, -1)


class AvgPoolArrays(NamedTuple):
    x: np.ndarray
    dy: np.ndarray


@dataclass(frozen=True, repr=False)
class AvgPoolCase(WindowPoolCase):
    """One avg_pool2d example; ``x_values`` says what x holds (see ``X_VALUES``)."""

    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None
    x_values: str = field(default="finite", kw_only=True)

    OP: ClassVar[str] = "avg_pool2d"
    GEOMETRY: ClassVar[type] = AvgPoolGeometry
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"x_values": X_VALUES}

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
    stride, ceil_mode = draws.pool_stride_and_ceil_mode(draw, kernel, off)
    count_include_pad = draws.optional(draw, "count_include_pad", off, True, st.just(False))
    divisor_override = draws.optional(draw, "divisor_override", off, None, DIVISOR_OVERRIDES)
    exact = draws.windows_exact(windows)
    fitting = draws.sides_that_fit(
        size, kernel, padding, (1, 1), off, (stride or kernel) if exact else None
    )
    if ceil_mode and not exact and max(stride or kernel) > 1:
        # ceil_mode matters only where it adds a last window, partly past the padded input:
        # the window whose divisor count_include_pad and the overhang rule decide.
        checked = AvgPoolGeometry(kernel, stride or kernel, padding, ceil_mode=True)
        fitting = fitting.filter(partial(_ceil_adds_a_window, checked))
    sides = draw(fitting)
    geometry: dict[str, Any] = {
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "ceil_mode": ceil_mode,
    }
    case = AvgPoolCase(
        **draws.pool_sizes(draw, size, sides),
        **geometry,
        count_include_pad=count_include_pad,
        divisor_override=divisor_override,
        **draws.case_fields(draw, dtype, dy_values, off),
        x_values=draw_x_values(draw, x_values, off),
    )
    return draw(draws.spelled(case, off))


def _ceil_adds_a_window(geometry: AvgPoolGeometry, sides: Pair) -> bool:
    floor = replace(geometry, ceil_mode=False)
    shape = (1, 1, *sides)
    return geometry.output_shape(shape) != floor.output_shape(shape)


# What leaving each optional argument out means, as PyTorch defines it.
AVG_POOL_DEFAULTS = AvgPoolCase.DEFAULTS

__all__ = [
    "AVG_POOL_DEFAULTS",
    "AvgPoolArrays",
    "AvgPoolCase",
    "avg_pool_cases",
]
