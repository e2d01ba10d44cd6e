"""Hypothesis strategies for conv2d and max_pool2d examples, valid by construction.

Every draw builds a geometry that the op accepts: kernels fit inside the
padded input, groups divide the channels, pool padding is at most half the
kernel.  Nothing is filtered but the rare pool window that would read only
padding, so Hypothesis almost never wastes an example.

Sizes come in four classes, drawn equally often, so that one default run
reaches both ends: one class keeps everything small (where shrinking ends
up), and each of the other three pushes one dimension far past what fixed
tests try (batch above 32, channels above 16,
sides above 40) while keeping the others small enough to stay fast.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from hypothesis import assume
from hypothesis import strategies as st

from ..declarations import check_features
from ..reference.geometry import Pair, PoolGeometry, effective_kernel
from .cases import DTYPES, DY_VALUES, POOL_VALUES, ConvCase, PoolCase
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
)


@st.composite
def conv_cases(
    draw: st.DrawFn,
    *,
    dtype: str | None = None,
    unsupported: Collection[str] = frozenset(),
    dy_values: Collection[str] = ("finite",),
    sizes: Sequence[SizeClass] = SIZE_CLASSES,
) -> ConvCase:
    """Valid conv2d examples of every geometry not listed in ``unsupported``.

    ``dtype=None`` draws float64 and float32 (float64 alone if "float32" is
    unsupported); ``dy_values=("finite", "nonfinite")`` also draws dy with NaN and inf.
    ``sizes``: the size classes to draw from (``SIZE_CLASSES[:1]``: only small examples).
    """
    off = check_features(unsupported)
    size = draw(st.sampled_from(sizes))
    # Each feature is switched on half the time, then given a value: an even spread that
    # shrinks to "off" whenever the failure does not need it.
    groups = _optional(draw, "groups", off, 1, st.integers(2, 3))
    kernel = draw(_pairs(st.integers(1, size.max_kernel), off))
    stride = _optional(draw, "stride", off, (1, 1), _pairs(st.integers(1, 4), off))
    padding = _optional(draw, "conv_padding", off, (0, 0), _pairs(st.integers(0, 3), off))
    dilation = _optional(draw, "dilation", off, (1, 1), _pairs(st.integers(1, 3), off))
    height, width = draw(_sides_that_fit(size, kernel, padding, dilation, off))
    case = ConvCase(
        batch=draw(st.integers(*size.batch)),
        in_channels=groups * draw(st.integers(*size.channels)),
        out_channels=groups * draw(st.integers(*size.channels)),
        height=height,
        width=width,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=False if "bias" in off else draw(st.booleans()),
        dtype=draw(_dtypes(dtype, off)),
        layout=draw(_layouts(off)),
        seed=draw(st.integers(0, 2**32 - 1)),
        dy_values=draw(_dy_values(dy_values, off)),
    )
    return draw(_spelled(case, off))


@st.composite
def pool_cases(
    draw: st.DrawFn,
    *,
    dtype: str | None = None,
    unsupported: Collection[str] = frozenset(),
    values: Collection[str] = POOL_VALUES,
    windows: str = "partial",
    dy_values: Collection[str] = ("finite",),
    sizes: Sequence[SizeClass] = SIZE_CLASSES,
) -> PoolCase:
    """Valid max_pool2d examples; ``values=("distinct",)`` gives tie-free inputs.

    ``dtype`` and ``dy_values`` as for ``conv_cases``.

    ``windows="exact"`` draws only geometries whose windows cover the padded
    input exactly (no partial window, nothing left over), for candidates that
    declare that convention.  ``sizes`` as for ``conv_cases``.
    """
    off = check_features(unsupported)
    allowed_values = [
        v
        for v in POOL_VALUES
        if v in values and not ((v == "nan" and "nan" in off) or (v == "neginf" and "inf" in off))
    ]
    size = draw(st.sampled_from(sizes))
    kernel = draw(_pairs(st.integers(1, size.max_kernel), off))
    dilation = _optional(draw, "dilation", off, (1, 1), _pairs(st.integers(1, 3), off))
    padding = _optional(draw, "pool_padding", off, (0, 0), _pool_padding(kernel, off))
    explicit_stride = st.just(kernel) if "stride" in off else _pairs(st.integers(1, 4), off)
    stride = _optional(draw, "stride_none", off, None, explicit_stride, on_when_off=True)
    ceil_mode = _optional(draw, "ceil_mode", off, False, st.just(True))
    exact = _windows_exact(windows)
    height, width = draw(
        _sides_that_fit(size, kernel, padding, dilation, off, (stride or kernel) if exact else None)
    )
    # Rarely (dilation > 1 over a side of one or two pixels) a window reads only padding,
    # which PyTorch leaves undefined and the reference rejects.
    geometry = PoolGeometry(kernel, stride or kernel, padding, dilation, ceil_mode)
    assume(_every_window_reads_input(geometry, (height, width)))
    case = PoolCase(
        batch=draw(st.integers(*size.batch)),
        channels=draw(st.integers(*size.channels)),
        height=height,
        width=width,
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        dilation=dilation,
        ceil_mode=ceil_mode,
        values=draw(st.sampled_from(allowed_values)),
        dtype=draw(_dtypes(dtype, off)),
        layout=draw(_layouts(off)),
        seed=draw(st.integers(0, 2**32 - 1)),
        dy_values=draw(_dy_values(dy_values, off)),
    )
    return draw(_spelled(case, off))


@st.composite
def _spelled(draw: st.DrawFn, case, off: frozenset[str]):
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
    return replace(case, as_int=tuple(as_int), omitted=tuple(omitted))


def _dtypes(dtype: str | None, off: frozenset[str]) -> st.SearchStrategy[str]:
    if dtype is not None:
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES} or None; got {dtype!r}")
        return st.just(dtype)
    return st.just("float64") if "float32" in off else st.sampled_from(DTYPES)


def _dy_values(allowed: Collection[str], off: frozenset[str]) -> st.SearchStrategy[str]:
    if "nonfinite_dy" in off or "nonfinite" not in allowed:
        return st.just("finite")
    return st.sampled_from(DY_VALUES)


def _windows_exact(windows: str) -> bool:
    if windows not in ("partial", "exact"):
        raise ValueError(f"windows must be 'partial' or 'exact'; got {windows!r}")
    return windows == "exact"


def _every_window_reads_input(geometry: PoolGeometry, sides: Pair) -> bool:
    try:
        geometry.output_shape((1, 1, *sides))
    except ValueError:
        return False
    return True


def _optional(
    draw: st.DrawFn, feature: str, off: frozenset[str], default, values, *, on_when_off=False
):
    """``default`` or a drawn value, half the time each; always ``default`` if the feature is off.

    ``on_when_off`` inverts that for features whose default is the unsupported one
    (a candidate without ``stride=None`` always gets an explicit stride).
    """
    if feature in off:
        return draw(values) if on_when_off else default
    return draw(values) if draw(st.booleans()) else default


def _pairs(values: st.SearchStrategy[int], off: frozenset[str]) -> st.SearchStrategy[Pair]:
    """(height, width) pairs; equal entries when the candidate cannot take non-square ones."""
    if "non_square_geometry" in off:
        return values.map(lambda v: (v, v))
    return st.tuples(values, values)


def _layouts(off: frozenset[str]) -> st.SearchStrategy[str]:
    return st.just("contiguous") if "non_contiguous" in off else st.sampled_from(LAYOUTS)


def _pool_padding(kernel: Pair, off: frozenset[str]) -> st.SearchStrategy[Pair]:
    # PyTorch's rule: padding <= kernel_size // 2 on each axis.
    if "non_square_geometry" in off:
        return st.integers(0, min(kernel) // 2).map(lambda p: (p, p))
    return st.tuples(st.integers(0, kernel[0] // 2), st.integers(0, kernel[1] // 2))


def _sides_that_fit(
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
        return _exact_sides(size, smallest, kernel, padding, dilation, stride, off)
    sides = [st.integers(low, max(low, size.side[1])) for low in smallest]
    if "non_square_input" in off:
        low = max(smallest)
        return st.integers(low, max(low, size.side[1])).map(lambda s: (s, s))
    return st.tuples(*sides)


def _exact_sides(
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


def describe_coverage(case: ConvCase | PoolCase) -> dict[str, str]:
    """What a case exercises, for Hypothesis events and the report's coverage tables."""
    common = {
        "stride": str(case.stride),
        "padding": str(case.padding),
        "dilation": str(case.dilation),
        "dtype": case.dtype,
        "layout": case.layout,
        "batch": _bucket(case.batch, (1, 4, 32)),
        "side": _bucket(max(case.height, case.width), (1, 12, 40)),
        "ints": ", ".join(case.as_int) or "none",
        "omitted": ", ".join(case.omitted) or "none",
        "dy": case.dy_values,
    }
    if isinstance(case, ConvCase):
        return common | {
            "groups": str(case.groups),
            "channels": _bucket(max(case.in_channels, case.out_channels), (1, 4, 16)),
            "bias": str(case.bias),
        }
    return common | {
        "ceil_mode": str(case.ceil_mode),
        "channels": _bucket(case.channels, (1, 4, 16)),
        "values": case.values,
    }


def _bucket(value: int, edges: tuple[int, int, int]) -> str:
    """'1', '2-4', '5-32', '>32' style buckets for sizes."""
    one, low, high = edges
    if value <= one:
        return str(one)
    if value <= low:
        return f"{one + 1}-{low}"
    if value <= high:
        return f"{low + 1}-{high}"
    return f">{high}"
