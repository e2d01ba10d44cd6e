"""Examples as small, printable recipes: a geometry, shapes, and a seed for the values.

Each op's case (``ops/<op>/cases.py``) is a frozen dataclass built this way;
this module holds what they share.

A case holds no arrays.  ``case.arrays()`` builds them from a NumPy seed, so
a case shrinks quickly (Hypothesis shrinks a handful of integers, not a
million floats), and its ``repr`` is a line of Python that reproduces the
example exactly.

A case also says how a caller spells the call: ``case.geometry`` is every
argument as an (h, w) pair, for the oracles; ``case.spell(*operands)`` is the
call as the candidate receives it, with the arguments named in ``as_int``
passed as a plain int and those in ``omitted`` left out, so that the
candidate's own defaults apply.
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np

from ..precision import finfo, is_half

# What dy holds: finite normals, or normals with NaN, inf and -inf among them.
DY_VALUES = ("finite", "nonfinite")
# Where a float16 case's input values sit, chosen by its seed: its ordinary range, just
# below its overflow (65504), or among its subnormals (normal numbers in float32, so a
# float32 sum keeps them).  bfloat16 has float32's exponent range: a float32 sum cannot
# overflow short of its own, and its subnormals are float32's, which float32 hardware in
# flush-to-zero mode (oneDNN's and XLA's CPU kernels) flushes: it draws neither.
MAGNITUDES = {
    "float16": ("normal", "near overflow", "subnormal"),
}  # "subnormal" last: the seed after a subnormal one is a normal one (draws.spelled)


def normal_arrays(
    rng: np.random.Generator, shapes: tuple[tuple[int, ...], ...], dtype: str, seed: int
) -> list[np.ndarray]:
    """Standard normal arrays of ``shapes`` in ``dtype``, the first (x) at ``magnitude``."""
    values = [rng.standard_normal(shape) for shape in shapes]
    values[0] = at_magnitude(values[0], dtype, seed)
    return [v.astype(dtype) for v in values]


def magnitude(dtype: str, seed: int) -> str:
    """Where this case's x values sit ("normal" for float64 and float32)."""
    labels = MAGNITUDES.get(dtype, ("normal",))
    return labels[seed % len(labels)]


def at_magnitude(values: np.ndarray, dtype: str, seed: int) -> np.ndarray:
    """Standard normal ``values`` (float64) moved to ``magnitude(dtype, seed)`` by a power of
    two, so that the half values are still what the float64 reference computes from."""
    label = magnitude(dtype, seed)
    if label == "normal" or not is_half(dtype):
        return values
    info = finfo(dtype)
    if label == "near overflow":
        # 0 <= x < 4 * 2**(emax - 2) = 2**emax <= the largest finite value: no input
        # overflows, and a sum of a few, all positive (a pooling window's, say), does.
        top = int(np.floor(np.log2(float(info.max))))
        return np.clip(np.abs(values), 0, 3.9) * 2.0 ** (top - 2)
    # 2**-4 of the smallest normal: most values subnormal, the largest just normal.
    return values * float(info.smallest_normal) * 2.0**-4


class Case(Protocol):
    """What every op's example has: the properties, the runner and the reports rely on it."""

    # Read-only, so that frozen dataclasses are Cases.
    @property
    def dtype(self) -> str: ...

    @property
    def layout(self) -> str: ...

    @property
    def seed(self) -> int: ...

    @property
    def as_int(self) -> tuple[str, ...]: ...  # arguments passed as a plain int

    @property
    def omitted(self) -> tuple[str, ...]: ...  # arguments left out

    @property
    def dy_values(self) -> str: ...

    DEFAULTS: ClassVar[dict]  # what leaving out each optional argument means

    @property
    def arguments(self) -> dict: ...

    @property
    def geometry(self) -> dict: ...

    @property
    def x_shape(self) -> tuple[int, ...]: ...

    @property
    def y_shape(self) -> tuple[int, ...]: ...

    def spell(self, *operands: Any) -> tuple[tuple, dict]: ...

    def arrays(self) -> Any:
        """A NamedTuple of the arrays: the forward's operands, then dy."""
        ...

    def coverage(self) -> dict[str, str]: ...

    def field_names(self) -> list[str]: ...  # its fields, in the order its repr writes them

    def sizes_reached(self) -> list[str]: ...

    def settings_needed(self) -> list[str]: ...


def with_nonfinite(dy: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A copy of ``dy`` with NaN, inf and -inf among its values, at least one NaN.

    The values are drawn after every finite array, so a case's finite arrays
    do not depend on ``dy_values``.
    """
    dy = np.array(dy, order="C")
    kind = rng.random(dy.shape)
    dy[kind < 0.1] = np.nan
    dy[(kind >= 0.1) & (kind < 0.15)] = np.inf
    dy[(kind >= 0.15) & (kind < 0.2)] = -np.inf
    if dy.size:
        dy.flat[rng.integers(dy.size)] = np.nan
    return dy


def spell(
    operands: tuple, geometry: dict, as_int: tuple[str, ...], omitted: tuple[str, ...]
) -> tuple[tuple, dict]:
    """A call as a caller writes it: a trailing ``b=None`` and the omitted arguments left out."""
    if "b" in omitted and operands and operands[-1] is None:
        operands = operands[:-1]
    kwargs = {
        name: value[0] if name in as_int else value
        for name, value in geometry.items()
        if name not in omitted
    }
    return operands, kwargs


def check_spelling(case) -> None:
    """ValueError unless each omitted argument is at its default and each int stands for a square pair."""
    name, values, defaults = type(case).__name__, case.arguments, case.DEFAULTS
    for argument in case.omitted:
        if argument not in defaults or values.get(argument) != defaults[argument]:
            raise ValueError(
                f"{name}: omitted={case.omitted!r} leaves out {argument!r}, but only an optional "
                f"argument at its default can be left out ({defaults})"
            )
    for argument in case.as_int:
        value = values.get(argument)
        if not (isinstance(value, tuple) and len(value) == 2 and value[0] == value[1]):
            raise ValueError(
                f"{name}: as_int={case.as_int!r} names {argument!r}, which is {value!r}; "
                "only a square (h, w) pair can be passed as a plain int"
            )
    if case.dy_values not in DY_VALUES:
        raise ValueError(f"{name}: dy_values must be one of {DY_VALUES}; got {case.dy_values!r}")


def sizes_reached(batch: int, channels: int, height: int, width: int) -> list[str]:
    """The sizes of a shrunk example that may not be needed: batch, channels or sides."""
    sizes = []
    if batch > 1:
        sizes.append(f"batch={batch}")
    if channels > 3:
        sizes.append(f"{channels} channels")
    if max(height, width) > 12:
        sizes.append(f"a {height}x{width} input")
    return sizes


def geometry_needed(case, defaults: dict) -> list[str]:
    """The pair arguments of ``case`` away from ``defaults``: settings a failure kept."""
    return [
        f"{name}={getattr(case, name)}"
        for name, default in defaults.items()
        if getattr(case, name) is not None and tuple(getattr(case, name)) != default
    ]
