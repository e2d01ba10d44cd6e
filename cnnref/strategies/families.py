"""What the ops' cases compute alike from their fields, by family: every case
(``OpCase``), the convolutions' (``ConvolutionCase``: x, w and an optional bias b) and
the poolings' (``PoolingCase``: x alone).

An op's case is a frozen dataclass that subclasses its family and names its op
(``OP``, whose signature orders the geometry), what leaving out each optional argument
means (``DEFAULTS``) and its geometry's checked type (``GEOMETRY``); the fields
are its own (``ops/<op>/cases.py``).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, ClassVar

import numpy as np

from ..ops.signatures import SIGNATURES
from . import draws
from .cases import (
    check_spelling,
    geometry_needed,
    normal_arrays,
    sizes_reached,
    spell,
    with_nonfinite,
)
from .layouts import with_layout


class OpCase:
    """The methods every op's case shares."""

    OP: ClassVar[str]
    DEFAULTS: ClassVar[dict]  # what leaving out each optional argument means
    GEOMETRY: ClassVar[Any]  # the op's checked geometry type (ops/<op>/geometry.py)

    # The fields every case has (the dataclass declares them).
    batch: int
    height: int
    width: int
    dtype: str
    layout: str
    seed: int
    as_int: tuple[str, ...]
    omitted: tuple[str, ...]
    dy_values: str

    def __post_init__(self) -> None:
        check_spelling(self)

    @property
    def arguments(self) -> dict:
        """Every argument a caller may spell: the geometry."""
        return self.geometry

    @property
    def geometry(self) -> dict:
        """Keyword arguments for the op and its backward, in the order they take them."""
        return {name: getattr(self, name) for name, _ in SIGNATURES[self.OP].geometry}

    def spell(self, *operands: np.ndarray | None) -> tuple[tuple, dict]:
        """``(args, kwargs)`` of a call to the op (its operands) or its backward (dy, operands)."""
        return spell(operands, self.geometry, self.as_int, self.omitted)


class ConvolutionCase(OpCase):
    """A case of conv2d or conv_transpose2d: x, w, an optional bias b (``bias``), and dy."""

    ARRAYS: ClassVar[Any]  # the NamedTuple of x, w, b and dy
    # Pair arguments shown in the coverage tables besides stride, padding and dilation.
    OWN_COVERAGE: ClassVar[tuple[str, ...]] = ()

    in_channels: int
    out_channels: int
    groups: int
    bias: bool

    @property
    def w_shape(self) -> tuple[int, ...]:
        raise NotImplementedError

    @property
    def arguments(self) -> dict:
        """Every argument a caller may spell: the geometry, and ``b`` (None without a bias)."""
        return self.geometry | {"b": "given" if self.bias else None}

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.batch, self.in_channels, self.height, self.width)

    @cached_property  # the geometry's arithmetic, asked for at every candidate call
    def y_shape(self) -> tuple[int, ...]:
        return self.GEOMETRY(**self.geometry).output_shape(self.x_shape, self.w_shape)

    def arrays(self) -> Any:
        rng = np.random.default_rng(self.seed)
        shapes = (self.x_shape, self.w_shape, self.y_shape)
        x, w, dy = (
            with_layout(a, self.layout) for a in normal_arrays(rng, shapes, self.dtype, self.seed)
        )
        b = rng.standard_normal(self.out_channels).astype(self.dtype) if self.bias else None
        if self.dy_values == "nonfinite":
            dy = with_layout(with_nonfinite(dy, rng), self.layout)
        return self.ARRAYS(x, w, b, dy)

    def coverage(self) -> dict[str, str]:
        """What this case exercises, for Hypothesis events and the report's coverage tables."""
        return draws.common_coverage(self) | {
            **{name: str(getattr(self, name)) for name in self.OWN_COVERAGE},
            "groups": str(self.groups),
            "channels": draws.bucket(max(self.in_channels, self.out_channels), (1, 4, 16)),
            "bias": str(self.bias),
        }

    def sizes_reached(self) -> list[str]:
        channels = max(self.in_channels, self.out_channels)
        return sizes_reached(self.batch, channels, self.height, self.width)

    def settings_needed(self) -> list[str]:
        """The settings of a shrunk failing example that are away from their defaults."""
        pairs = {k: v for k, v in self.DEFAULTS.items() if k not in ("b", "groups")}
        needed = geometry_needed(self, pairs)
        return needed + ([f"groups={self.groups}"] if self.groups > 1 else [])


class PoolingCase(OpCase):
    """A case of a pool: x and dy."""

    channels: int

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.batch, self.channels, self.height, self.width)

    @cached_property  # the geometry's arithmetic, asked for at every candidate call
    def y_shape(self) -> tuple[int, ...]:
        return self.GEOMETRY.from_args(**self.geometry).output_shape(self.x_shape)

    def sizes_reached(self) -> list[str]:
        return sizes_reached(self.batch, self.channels, self.height, self.width)
