"""The adaptive pools' examples: ``AdaptivePoolCase``, what both adaptive pools' cases share,
``AdaptiveAvgPoolCase`` and ``adaptive_avg_pool_cases``, the strategy that draws them (see
``cnnref.strategies`` for what every op's cases share).

An output side is drawn from 1 to the input's side, so that most draws do not
divide the input and neighbouring windows overlap unevenly; past the input's
side (upsampling: each window one or two elements, read by several cells); or
None, which keeps the input's side.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np
from hypothesis import strategies as st

from ...declarations import check_features
from ...strategies import draws
from ...strategies.cases import (
    normal_arrays,
    with_nonfinite,
)
from ...strategies.draws import SIZE_CLASSES, SizeClass
from ...strategies.families import PoolingCase
from ...strategies.layouts import with_layout
from ...strategies.pooling import X_VALUES, draw_x_values
from .geometry import AdaptiveGeometry, OutputSize


class AdaptivePoolArrays(NamedTuple):
    x: np.ndarray
    dy: np.ndarray


@dataclass(frozen=True, repr=False)
class AdaptivePoolCase(PoolingCase):
    """What an adaptive pool's example is: an input's shape and an output size."""

    output_size: OutputSize

    GEOMETRY: ClassVar[type] = AdaptiveGeometry

    def arrays(self) -> AdaptivePoolArrays:
        """x and dy: each adaptive pool draws its own x, then ``finish_arrays``."""
        raise NotImplementedError

    def finish_arrays(self, x: np.ndarray, rng: np.random.Generator) -> AdaptivePoolArrays:
        """x and a dy drawn after it (NaN and inf put in last), each in the case's layout."""
        dy = rng.standard_normal(self.y_shape).astype(self.dtype)
        if self.dy_values == "nonfinite":
            dy = with_nonfinite(dy, rng)
        return AdaptivePoolArrays(with_layout(x, self.layout), with_layout(dy, self.layout))

    def coverage(self) -> dict[str, str]:
        """What this case exercises, for Hypothesis events and the report's coverage tables."""
        return {
            "output_size": " x ".join(map(_side_kind, self.y_shape[2:], self.x_shape[2:])),
            "dtype": self.dtype,
            "layout": self.layout,
            "batch": draws.bucket(self.batch, (1, 4, 32)),
            "channels": draws.bucket(self.channels, (1, 4, 16)),
            "side": draws.bucket(max(self.height, self.width), (1, 12, 40)),
            "None in output_size": str(None in self.output_size),
            "ints": ", ".join(self.as_int) or "none",
            "dy": self.dy_values,
        }

    def settings_needed(self) -> list[str]:
        """The settings of a shrunk failing example that are away from the simplest."""
        needed = [] if self.output_size == (1, 1) else [f"output_size={self.output_size}"]
        return needed + (["upsampling"] if upsamples(self) else [])


SomeCase = TypeVar("SomeCase", bound=AdaptivePoolCase)


def upsamples(case: AdaptivePoolCase) -> bool:
    return any(o > n for o, n in zip(case.y_shape[2:], case.x_shape[2:]))


def _side_kind(out: int, size: int) -> str:
    if out > size:
        return "upsampling"
    if out == 1:
        return "1"
    return "divides" if size % out == 0 else "overlapping"


@dataclass(frozen=True, repr=False)
class AdaptiveAvgPoolCase(AdaptivePoolCase):
    """One adaptive_avg_pool2d example; ``x_values`` says what x holds (see ``X_VALUES``)."""

    x_values: str = field(default="finite", kw_only=True)

    OP: ClassVar[str] = "adaptive_avg_pool2d"
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"x_values": X_VALUES}

    def arrays(self) -> AdaptivePoolArrays:
        rng = np.random.default_rng(self.seed)
        (x,) = normal_arrays(rng, (self.x_shape,), self.dtype, self.seed)
        arrays = self.finish_arrays(x, rng)
        if self.x_values == "nonfinite":  # drawn last: the finite arrays stay the same
            arrays = arrays._replace(x=with_layout(with_nonfinite(x, rng), self.layout))
        return arrays

    def coverage(self) -> dict[str, str]:
        return super().coverage() | {"x": self.x_values}

    def settings_needed(self) -> list[str]:
        nonfinite = ["NaN and inf in x"] if self.x_values != "finite" else []
        return super().settings_needed() + nonfinite


def adaptive_fields(
    draw: st.DrawFn,
    off: frozenset[str],
    dtype: str | None,
    dy_values: Collection[str],
    sizes: Sequence[SizeClass],
) -> dict[str, Any]:
    """The fields every adaptive pool's case has, drawn: shapes, output size, dtype, layout,
    seed and dy's values."""
    size = draw(st.sampled_from(sizes))
    height = draw(st.integers(*size.side))
    width = height if "non_square_input" in off else draw(st.integers(*size.side))
    upsampling = draws.optional(draw, "output_upsampling", off, False, st.just(True))
    sides = [draw(st.integers(1, 2 * n + 1 if upsampling else n)) for n in (height, width)]
    keeps = draws.optional(
        draw, "output_size_none", off, (False, False), st.tuples(st.booleans(), st.booleans())
    )
    if "non_square_geometry" in off:  # one side for both, and None for both or neither
        sides, keeps = [min(sides)] * 2, (keeps[0], keeps[0])
    return {
        "batch": draw(st.integers(*size.batch)),
        "channels": draw(st.integers(*size.channels)),
        "height": height,
        "width": width,
        "output_size": tuple(None if keep else side for keep, side in zip(keeps, sides)),
        **draws.case_fields(draw, dtype, dy_values, off),
    }


@st.composite
def spelled(draw: st.DrawFn, case: SomeCase, off: frozenset[str]) -> SomeCase:
    """``case`` as a caller spells it (``draws.spelled``); an output size with None is written
    as a pair, since PyTorch takes no None alone."""
    case = draw(draws.spelled(case, off))
    return replace(case, as_int=()) if None in case.output_size else case


@st.composite
def adaptive_avg_pool_cases(
    draw: st.DrawFn,
    *,
    dtype: str | None = None,
    unsupported: Collection[str] = frozenset(),
    dy_values: Collection[str] = ("finite",),
    sizes: Sequence[SizeClass] = SIZE_CLASSES,
    x_values: Collection[str] = ("finite",),
) -> AdaptiveAvgPoolCase:
    """Valid adaptive_avg_pool2d examples; ``dtype``, ``dy_values`` and ``sizes`` as for
    ``conv_cases``, ``x_values=X_VALUES`` also draws x with NaN, inf and -inf."""
    off = check_features(unsupported)
    case = AdaptiveAvgPoolCase(
        **adaptive_fields(draw, off, dtype, dy_values, sizes),
        x_values=draw_x_values(draw, x_values, off),
    )
    return draw(spelled(case, off))


__all__ = [
    "AdaptiveAvgPoolCase",
    "AdaptivePoolArrays",
    "AdaptivePoolCase",
    "adaptive_avg_pool_cases",
]
