"""max_pool2d's examples: ``MaxPoolCase``, a printable recipe, and ``max_pool_cases``, the strategy
that draws them valid by construction (see ``cnnref.strategies`` for what they share)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from ...declarations import check_features
from ...strategies import draws
from ...strategies.cases import (
    at_magnitude,
    geometry_needed,
    with_nonfinite,
)
from ...strategies.draws import SIZE_CLASSES, SizeClass
from ...strategies.families import WindowPoolCase
from ...strategies.layouts import with_layout
from ...strategies.pooling import (
    POOL_VALUES,
    allowed_pool_values,
    pool_values,
)
from ..arguments import Pair
from .geometry import PoolGeometry


class PoolArrays(NamedTuple):
    x: np.ndarray
    dy: np.ndarray


@dataclass(frozen=True, repr=False)
class MaxPoolCase(WindowPoolCase):
    """One max_pool2d example; ``values`` says what the input holds (see ``POOL_VALUES``)."""

    dilation: Pair = (1, 1)
    ceil_mode: bool = False
    values: str = "distinct"

    OP: ClassVar[str] = "max_pool2d"
    GEOMETRY: ClassVar[type] = PoolGeometry

    def arrays(self) -> PoolArrays:
        rng = np.random.default_rng(self.seed)
        x = at_magnitude(pool_values(self.values, self.x_shape, rng), self.dtype, self.seed)
        x = x.astype(self.dtype)
        dy = rng.standard_normal(self.y_shape).astype(self.dtype)
        if self.dy_values == "nonfinite":
            dy = with_nonfinite(dy, rng)
        return PoolArrays(with_layout(x, self.layout), with_layout(dy, self.layout))

    def coverage(self) -> dict[str, str]:
        """What this case exercises, for Hypothesis events and the report's coverage tables."""
        return draws.common_coverage(self) | {
            "ceil_mode": str(self.ceil_mode),
            "channels": draws.bucket(self.channels, (1, 4, 16)),
            "values": self.values,
        }

    def settings_needed(self) -> list[str]:
        """The settings of a shrunk failing example that are away from their defaults."""
        needed = geometry_needed(self, {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1)})
        needed += ["ceil_mode=True"] if self.ceil_mode else []
        return needed + ([f"values={self.values!r}"] if self.values != "distinct" else [])


@st.composite
def max_pool_cases(
    draw: st.DrawFn,
    *,
    dtype: str | None = None,
    unsupported: Collection[str] = frozenset(),
    values: Collection[str] = POOL_VALUES,
    windows: str = "partial",
    dy_values: Collection[str] = ("finite",),
    sizes: Sequence[SizeClass] = SIZE_CLASSES,
) -> MaxPoolCase:
    """Valid max_pool2d examples; ``values=("distinct",)`` gives tie-free inputs.

    ``dtype`` and ``dy_values`` as for ``conv_cases``.

    ``windows="exact"`` draws only geometries whose windows cover the padded
    input exactly (no partial window, nothing left over), for candidates that
    declare that convention.  ``sizes`` as for ``conv_cases``.
    """
    off = check_features(unsupported)
    allowed_values = allowed_pool_values(values, off)
    size = draw(st.sampled_from(sizes))
    kernel = draw(draws.pairs(st.integers(1, size.max_kernel), off))
    dilation = draws.optional(draw, "dilation", off, (1, 1), draws.pairs(st.integers(1, 3), off))
    padding = draws.optional(draw, "pool_padding", off, (0, 0), draws.pool_padding(kernel, off))
    stride, ceil_mode = draws.pool_stride_and_ceil_mode(draw, kernel, off)
    exact = draws.windows_exact(windows)
    sides = draw(
        draws.sides_that_fit(
            size, kernel, padding, dilation, off, (stride or kernel) if exact else None
        )
    )
    # Rarely (dilation > 1 over a side of one or two pixels) a window reads only padding,
    # which PyTorch leaves undefined and the reference rejects.
    checked = PoolGeometry(kernel, stride or kernel, padding, dilation, ceil_mode)
    assume(_every_window_reads_input(checked, sides))
    geometry = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation}
    case = MaxPoolCase(
        **draws.pool_sizes(draw, size, sides),
        **geometry,
        ceil_mode=ceil_mode,
        values=draw(st.sampled_from(allowed_values)),
        **draws.case_fields(draw, dtype, dy_values, off),
    )
    return draw(draws.spelled(case, off))


def _every_window_reads_input(geometry: PoolGeometry, sides: Pair) -> bool:
    try:
        geometry.output_shape((1, 1, *sides))
    except ValueError:
        return False
    return True


# Former names, still importable (in them "pool" alone means max pooling).
PoolCase = MaxPoolCase
pool_cases = max_pool_cases
# What leaving each optional argument out means, as PyTorch defines it.
POOL_DEFAULTS = MaxPoolCase.DEFAULTS

__all__ = [
    "POOL_DEFAULTS",
    "POOL_VALUES",
    "MaxPoolCase",
    "PoolArrays",
    "PoolCase",
    "max_pool_cases",
    "pool_cases",
]
