"""What the ops' cases have and compute alike, by family: every case (``OpCase``), the
convolutions' (``ConvolutionCase``: x, w and an optional bias b) and the poolings'
(``PoolingCase``: x alone; ``WindowPoolCase``: a kernel's windows, ``stride`` apart).

An op's case is a frozen dataclass that subclasses its family and names its op
(``OP``, whose signature orders the geometry and gives what leaving out each optional
argument means, ``DEFAULTS``) and its geometry's checked type (``GEOMETRY``).  Its
fields are its family's leading ones, then its own (``ops/<op>/cases.py``), then the
keyword-only fields every case has (``OpCase``): in that order a caller writes them, and
so its ``repr`` shows them, a line of Python that reproduces the case.  Each case's
dataclass passes ``repr=False`` so that this ``repr`` stays.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import Any, ClassVar, NamedTuple

import numpy as np

from ..ops import Signature
from ..ops.arguments import Pair
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


def defaults_of(signature: Signature) -> dict:
    """What leaving out each optional argument means, from ``signature``: ``b`` None (no
    bias), and each optional geometry argument at its default, a pair as (h, w)."""
    bias = {"b": None} if "b" in signature.operands else {}
    return bias | {
        name: (default, default) if name in signature.pairs and default is not None else default
        for name, default in signature.geometry
        if name not in signature.required
    }


@dataclass(frozen=True, kw_only=True, repr=False)
class OpCase:
    """The methods every op's case shares, and the fields it has: how its example is drawn
    and spelled, keyword-only and shown last."""

    OP: ClassVar[str]
    DEFAULTS: ClassVar[dict]  # what leaving out each optional argument means (from OP's signature)
    GEOMETRY: ClassVar[Any]  # the op's checked geometry type (ops/<op>/geometry.py)
    # Fields that take one of a few values: name -> those values (checked on construction).
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}

    dtype: str = "float64"
    layout: str = "contiguous"
    seed: int = 0
    as_int: tuple[str, ...] = ()  # arguments passed as a plain int
    omitted: tuple[str, ...] = ()  # arguments left out (a convolution's bias "b" among them)
    dy_values: str = "finite"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "OP" in vars(cls):
            cls.DEFAULTS = defaults_of(SIGNATURES[cls.OP])

    def __post_init__(self) -> None:
        check_spelling(self)
        for name, allowed in self.CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(
                    f"{type(self).__name__}: {name} must be one of {allowed}; got {value!r}"
                )

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.field_names())
        return f"{type(self).__qualname__}({shown})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # Hypothesis (and IPython) print a dataclass field by field, ClassVars included;
        # a case prints as its repr, the line that reproduces it.
        printer.text(repr(self))

    @classmethod
    def field_names(cls) -> list[str]:
        """The fields in the order a caller writes them: positional ones, then keyword-only."""
        ordered = fields(cls)
        return [f.name for f in ordered if not f.kw_only] + [f.name for f in ordered if f.kw_only]

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


class ConvolutionArrays(NamedTuple):
    x: np.ndarray
    w: np.ndarray
    b: np.ndarray | None
    dy: np.ndarray


class ConvolutionCase(OpCase):
    """A case of conv2d or conv_transpose2d: x, w, an optional bias b (``bias``), and dy.
    Its fields begin with ``ConvolutionShape``'s."""

    # Pair arguments shown in the coverage tables besides stride, padding and dilation.
    OWN_COVERAGE: ClassVar[tuple[str, ...]] = ()

    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
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
        return ConvolutionArrays(x, w, b, dy)

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


@dataclass(frozen=True, repr=False)
class ConvolutionShape(ConvolutionCase):
    """The fields both convolutions' cases begin with: the input's and the kernel's shapes,
    then the stride and padding."""

    batch: int
    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel_size: Pair
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)


@dataclass(frozen=True, repr=False)
class PoolingCase(OpCase):
    """A case of a pool: x and dy."""

    batch: int
    channels: int
    height: int
    width: int

    @property
    def x_shape(self) -> tuple[int, ...]:
        return (self.batch, self.channels, self.height, self.width)

    @cached_property  # the geometry's arithmetic, asked for at every candidate call
    def y_shape(self) -> tuple[int, ...]:
        return self.GEOMETRY.from_args(**self.geometry).output_shape(self.x_shape)

    def sizes_reached(self) -> list[str]:
        return sizes_reached(self.batch, self.channels, self.height, self.width)


@dataclass(frozen=True, repr=False)
class WindowPoolCase(PoolingCase):
    """A case of a pool of a kernel's windows (max_pool2d, avg_pool2d): its fields begin with
    the kernel size, the stride (None: the kernel size) and the padding."""

    kernel_size: Pair
    stride: Pair | None = None
    padding: Pair = (0, 0)
