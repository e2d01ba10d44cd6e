"""adaptive_max_pool2d's examples: ``AdaptiveMaxPoolCase`` and ``adaptive_max_pool_cases``.

They are adaptive_avg_pool2d's (``cnnref.ops.adaptive_avg_pool2d.cases``) with
max_pool2d's input values: tie-free on a coarse grid, or rich in ties, NaN
and -inf, so that overlapping windows share tied maxima.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from hypothesis import strategies as st

from ...declarations import check_features
from ...strategies.cases import at_magnitude
from ...strategies.draws import SIZE_CLASSES, SizeClass
from ...strategies.pooling import POOL_VALUES, allowed_pool_values, pool_values
from ..adaptive_avg_pool2d.cases import (
    AdaptivePoolArrays,
    AdaptivePoolCase,
    adaptive_fields,
    spelled,
)


@dataclass(frozen=True, repr=False)
class AdaptiveMaxPoolCase(AdaptivePoolCase):
    """One adaptive_max_pool2d example; ``values`` as max_pool2d's (``POOL_VALUES``)."""

    values: str = field(default="distinct", kw_only=True)

    OP: ClassVar[str] = "adaptive_max_pool2d"
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"values": POOL_VALUES}

    def arrays(self) -> AdaptivePoolArrays:
        rng = np.random.default_rng(self.seed)
        x = at_magnitude(pool_values(self.values, self.x_shape, rng), self.dtype, self.seed)
        return self.finish_arrays(x.astype(self.dtype), rng)

    def coverage(self) -> dict[str, str]:
        return super().coverage() | {"values": self.values}

    def settings_needed(self) -> list[str]:
        values = [f"values={self.values!r}"] if self.values != "distinct" else []
        return super().settings_needed() + values


@st.composite
def adaptive_max_pool_cases(
    draw: st.DrawFn,
    *,
    dtype: str | None = None,
    unsupported: Collection[str] = frozenset(),
    values: Collection[str] = POOL_VALUES,
    dy_values: Collection[str] = ("finite",),
    sizes: Sequence[SizeClass] = SIZE_CLASSES,
) -> AdaptiveMaxPoolCase:
    """Valid adaptive_max_pool2d examples; ``values=("distinct",)`` gives tie-free inputs, and
    ``dtype``, ``dy_values`` and ``sizes`` are as for ``conv_cases``."""
    off = check_features(unsupported)
    allowed = allowed_pool_values(values, off)
    fields = adaptive_fields(draw, off, dtype, dy_values, sizes)
    case = AdaptiveMaxPoolCase(**fields, values=draw(st.sampled_from(allowed)))
    return draw(spelled(case, off))


__all__ = ["AdaptiveMaxPoolCase", "adaptive_max_pool_cases"]
