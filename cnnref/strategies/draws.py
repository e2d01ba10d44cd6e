"""The draws every op's strategy is made of (``ops/<op>/cases.py``), valid by construction.

Every op's draw builds a geometry that the op accepts: kernels fit inside the
padded input, groups divide the channels, pool padding is at most half the
kernel.  Nothing is filtered but the rare pool window that would read only
padding, so Hypothesis almost never wastes an example.

Sizes come in five classes, drawn equally often, so that one default run
reaches both ends: one class keeps everything small (where shrinking ends
up), and each of the other four pushes one dimension far past what fixed
tests try (batch above 32, channels above 16, sides above 40, and over 100
channels on tiny images: long reductions) while keeping the others small
enough to stay fast.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st

from ..ops.arguments import Pair, effective_kernel
from ..precision import DTYPES
from .cases import DY_VALUES, magnitude
from .layouts import LAYOUTS


@dataclass(frozen=True)
class SizeClass:
    name: str
    batch: tuple[int, int]
    channels: tuple[int, int]  # per group for conv
    side: tuple[int, int]
    max_kernel: int


SIZE_CLASSES = (
    SizeClass("small", batch=(1, 4), channels=(1, 3), side=(1, 12), max_kernel=4),
    SizeClass("large batch", batch=(33, 40), channels=(1, 2), side=(1, 8), max_kernel=3),
    SizeClass("many channels", batch=(1, 2), channels=(17, 24), side=(1, 8), max_kernel=3),
    SizeClass("large image", batch=(1, 2), channels=(1, 2), side=(41, 56), max_kernel=5),
    # C kh kw past a thousand products per output, where a sum in a half format loses
    # every digit (float16: K u reaches 1 at 2,048; bfloat16 at 256).
    SizeClass("long reduction", batch=(1, 1), channels=(112, 128), side=(3, 5), max_kernel=3),
)


@st.composite
def spelled(draw: st.DrawFn, case, off: frozenset[str]):
    """``case``, with the arguments a caller leaves out and those it writes as a plain int.

    Each is decided by coins that shrink to "passed explicitly, as a pair".  Every
    argument draws both of its coins, used or not, so that shrinking one coin (or the
    geometry) never shifts the coins of the arguments after it.
    """
    as_int, omitted = [], []
    for name, value in case.arguments.items():
        leave_out, write_as_int = draw(st.booleans()), draw(st.booleans())
        at_default = name in case.DEFAULTS and value == case.DEFAULTS[name]
        square = isinstance(value, tuple) and value[0] == value[1]
        if leave_out and at_default and "omitted_arguments" not in off:
            omitted.append(name)
        elif write_as_int and square and "int_arguments" not in off:
            as_int.append(name)
    case = replace(case, as_int=tuple(as_int), omitted=tuple(omitted))
    if "subnormal" in off and magnitude(case.dtype, case.seed) == "subnormal":
        # The values come from the seed: the next seed is the next magnitude, a normal one.
        case = replace(case, seed=case.seed + 1)
    return case


def dtypes(dtype: str | None, off: frozenset[str]) -> st.SearchStrategy[str]:
    if dtype is not None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES} or None; got {dtype!r}")
        return st.just(dtype)
    # A dtype is its own feature name: a candidate declares the ones it does not take.
    return st.sampled_from([name for name in DTYPES if name not in off])


def dy_values(allowed: Collection[str], off: frozenset[str]) -> st.SearchStrategy[str]:
    if "nonfinite_dy" in off or "nonfinite" not in allowed:
        return st.just("finite")
    return st.sampled_from(DY_VALUES)


def windows_exact(windows: str) -> bool:
    if windows not in ("partial", "exact"):
        raise ValueError(f"windows must be 'partial' or 'exact'; got {windows!r}")
    return windows == "exact"


def optional(
    draw: st.DrawFn, feature: str, off: frozenset[str], default, values, *, on_when_off=False
):
    """``default`` or a drawn value, half the time each; always ``default`` if the feature is off.

    ``on_when_off`` inverts that for features whose default is the unsupported one
    (a candidate without ``stride=None`` always gets an explicit stride).
    """
    if feature in off:
        return draw(values) if on_when_off else default
    return draw(values) if draw(st.booleans()) else default


def pairs(values: st.SearchStrategy[int], off: frozenset[str]) -> st.SearchStrategy[Pair]:
    """(height, width) pairs; equal entries when the candidate cannot take non-square ones."""
    if "non_square_geometry" in off:
        return values.map(lambda v: (v, v))
    return st.tuples(values, values)


def layouts(off: frozenset[str]) -> st.SearchStrategy[str]:
    return st.just("contiguous") if "non_contiguous" in off else st.sampled_from(LAYOUTS)


def pool_padding(kernel: Pair, off: frozenset[str]) -> st.SearchStrategy[Pair]:
    # PyTorch's rule: padding <= kernel_size // 2 on each axis.
    if "non_square_geometry" in off:
        return st.integers(0, min(kernel) // 2).map(lambda p: (p, p))
    return st.tuples(st.integers(0, kernel[0] // 2), st.integers(0, kernel[1] // 2))


def sides_that_fit(
    size: SizeClass,
    kernel: Pair,
    padding: Pair,
    dilation: Pair,
    off: frozenset[str],
    stride: Pair | None = None,
) -> st.SearchStrategy[Pair]:
    """Input sides within the size class, never smaller than the dilated kernel needs.

    With ``stride`` (windows="exact"), only sides whose windows cover the padded
    input exactly: ``(side + 2 * padding - dilated kernel) % stride == 0``.
    """
    smallest = [
        max(size.side[0], effective_kernel(k, d) - 2 * p)
        for k, p, d in zip(kernel, padding, dilation)
    ]
    if stride is not None:
        return exact_sides(size, smallest, kernel, padding, dilation, stride, off)
    sides = [st.integers(low, max(low, size.side[1])) for low in smallest]
    if "non_square_input" in off:
        low = max(smallest)
        return st.integers(low, max(low, size.side[1])).map(lambda s: (s, s))
    return st.tuples(*sides)


def exact_sides(
    size: SizeClass,
    smallest: list[int],
    kernel: Pair,
    padding: Pair,
    dilation: Pair,
    stride: Pair,
    off: frozenset[str],
) -> st.SearchStrategy[Pair]:
    """Sides whose windows cover the padded input exactly, within the size class where one fits."""
    extents = [effective_kernel(k, d) - 2 * p for k, p, d in zip(kernel, padding, dilation)]

    def fits(side: int, axes=(0, 1)) -> bool:
        return all((side - extents[a]) % stride[a] == 0 for a in axes)

    choices = []
    for axis, low in enumerate(smallest):
        first = next(n for n in range(low, low + stride[axis]) if fits(n, (axis,)))
        choices.append(list(range(first, max(first, size.side[1]) + 1, stride[axis])))
    if "non_square_input" in off:
        low = max(smallest)
        common = [n for n in range(low, max(low, size.side[1]) + 1) if fits(n)]
        if not common:  # none within the class: the first side past it that serves both axes
            common = [n for n in range(low, low + stride[0] * stride[1] + 1) if fits(n)][:1]
        # Empty (rarely) when no square input tiles under both strides: the draw is discarded.
        return st.sampled_from(common).map(lambda s: (s, s)) if common else st.nothing()
    return st.tuples(*(st.sampled_from(sides) for sides in choices))


def bucket(value: int, edges: tuple[int, int, int]) -> str:
    """'1', '2-4', '5-32', '>32' style buckets for sizes."""
    one, low, high = edges
    if value <= one:
        return str(one)
    if value <= low:
        return f"{one + 1}-{low}"
    if value <= high:
        return f"{low + 1}-{high}"
    return f">{high}"


def common_coverage(case) -> dict[str, str]:
    """What any case exercises: its geometry's common arguments, dtype, layout, sizes, spelling.

    Dilation only where the op has it (avg_pool2d has none)."""
    dilation = {"dilation": str(case.dilation)} if hasattr(case, "dilation") else {}
    return {
        "stride": str(case.stride),
        "padding": str(case.padding),
        **dilation,
        "dtype": case.dtype,
        "magnitude": magnitude(case.dtype, case.seed),
        "layout": case.layout,
        "batch": bucket(case.batch, (1, 4, 32)),
        "side": bucket(max(case.height, case.width), (1, 12, 40)),
        "ints": ", ".join(case.as_int) or "none",
        "omitted": ", ".join(case.omitted) or "none",
        "dy": case.dy_values,
    }


# ---- parts of the ops' strategies, drawn in this order by each


def convolution_geometry(
    draw: st.DrawFn, size: SizeClass, off: frozenset[str], *, max_stride: int
) -> tuple[int, Pair, Pair, Pair, Pair]:
    """groups, kernel_size, stride, padding and dilation of a convolution.

    Each feature is switched on half the time, then given a value: an even spread that
    shrinks to "off" whenever the failure does not need it.
    """
    groups = optional(draw, "groups", off, 1, st.integers(2, 3))
    kernel = draw(pairs(st.integers(1, size.max_kernel), off))
    stride = optional(draw, "stride", off, (1, 1), pairs(st.integers(1, max_stride), off))
    padding = optional(draw, "conv_padding", off, (0, 0), pairs(st.integers(0, 3), off))
    dilation = optional(draw, "dilation", off, (1, 1), pairs(st.integers(1, 3), off))
    return groups, kernel, stride, padding, dilation


def convolution_case(
    draw: st.DrawFn,
    case_type: type,
    size: SizeClass,
    off: frozenset[str],
    dtype: str | None,
    allowed_dy: Collection[str],
    sides: Pair,
    groups: int,
    geometry: dict[str, Any],
):
    """A ``case_type`` (a convolution's case) of ``sides``, ``groups`` and the pair arguments
    ``geometry``: its sizes, its bias, and the fields every case draws last (``case_fields``)."""
    return case_type(
        batch=draw(st.integers(*size.batch)),
        in_channels=groups * draw(st.integers(*size.channels)),
        out_channels=groups * draw(st.integers(*size.channels)),
        height=sides[0],
        width=sides[1],
        groups=groups,
        bias=False if "bias" in off else draw(st.booleans()),
        **geometry,
        **case_fields(draw, dtype, allowed_dy, off),
    )


def pool_stride_and_ceil_mode(
    draw: st.DrawFn, kernel: Pair, off: frozenset[str]
) -> tuple[Pair | None, bool]:
    """A pool's stride (None half the time: the kernel size) and ceil_mode."""
    explicit_stride = st.just(kernel) if "stride" in off else pairs(st.integers(1, 4), off)
    stride = optional(draw, "stride_none", off, None, explicit_stride, on_when_off=True)
    ceil_mode = optional(draw, "ceil_mode", off, False, st.just(True))
    return stride, ceil_mode


def pool_sizes(draw: st.DrawFn, size: SizeClass, sides: Pair) -> dict[str, Any]:
    """A pool case's batch and channels, drawn within ``size``, and its ``sides``."""
    return {
        "batch": draw(st.integers(*size.batch)),
        "channels": draw(st.integers(*size.channels)),
        "height": sides[0],
        "width": sides[1],
    }


def case_fields(
    draw: st.DrawFn, dtype: str | None, allowed_dy: Collection[str], off: frozenset[str]
) -> dict[str, Any]:
    """The fields every case draws last: dtype, layout, seed and what dy holds."""
    return {
        "dtype": draw(dtypes(dtype, off)),
        "layout": draw(layouts(off)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "dy_values": draw(dy_values(allowed_dy, off)),
    }
