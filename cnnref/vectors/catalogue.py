"""The cases of the corpus: named edge cases, then a seeded sweep of every op.

Each named case states the features it is there for.  Its arrays come from
a seed like every cnnref example; the first seed (from 0) whose arrays hold
every stated feature is taken, so "a window of -inf only" is a fact of the
written arrays, not a hope.  The named cases are conv2d's and max_pool2d's
edge cases, and avg_pool2d's float16 overflow; the sweep draws small cases
of every op in the registry (``cnnref.ops.OPS``) from ``--seed``, through
each op's own strategy, in every dtype.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass, replace
from typing import Any, cast

import hypothesis
from hypothesis import strategies as st

from ..checks import all_properties
from ..ops import OPS
from ..ops.avg_pool2d.cases import AvgPoolCase
from ..ops.conv2d.cases import ConvCase
from ..ops.max_pool2d.cases import MaxPoolCase
from ..precision import DTYPES
from ..strategies import LAYOUTS, SIZE_CLASSES
from ..strategies.cases import MAGNITUDES, Case, magnitude
from ..verify.runner import draws_independent_of_loaded_modules
from .features import features_of

# A named case must find its features within this many seeds, or the catalogue is wrong.
SEED_SEARCH = 500
# Hypothesis generates this many examples per case wanted, and the cases are spread over
# them: its consecutive examples are often variations of one another.
DRAWS_PER_CASE = 10


@dataclass(frozen=True)
class NamedCase:
    name: str
    case: Case
    about: str
    wanted: frozenset[str] = frozenset()


def _conv(name: str, about: str, wanted: str = "", **fields) -> NamedCase:
    defaults: dict[str, Any] = {
        "batch": 1,
        "in_channels": 1,
        "out_channels": 1,
        "height": 4,
        "width": 4,
    }
    case = ConvCase(**(defaults | {"kernel_size": (3, 3)} | fields))
    return NamedCase(name, case, about, frozenset(wanted.split()))


def _pool(name: str, about: str, wanted: str = "", **fields) -> NamedCase:
    defaults: dict[str, Any] = {
        "batch": 1,
        "channels": 1,
        "height": 4,
        "width": 4,
        "kernel_size": (2, 2),
    }
    case = MaxPoolCase(**(defaults | fields))
    return NamedCase(name, case, about, frozenset(wanted.split()))


def _avg_pool(name: str, about: str, wanted: str = "", **fields) -> NamedCase:
    case = AvgPoolCase(**({"batch": 1, "channels": 2, "height": 6, "width": 6} | fields))
    return NamedCase(name, case, about, frozenset(wanted.split()))


_CONV_ALL = {
    "batch": 3,
    "in_channels": 4,
    "out_channels": 4,
    "height": 6,
    "width": 7,
    "kernel_size": (2, 3),
    "stride": (2, 1),
    "padding": (1, 2),
    "dilation": (1, 2),
    "groups": 2,
}
_POOL_ALL = {
    "batch": 2,
    "channels": 3,
    "height": 7,
    "width": 6,
    "kernel_size": (3, 2),
    "stride": (2, 1),
    "padding": (1, 1),
    "dilation": (1, 2),
    "ceil_mode": True,
    "values": "ties",
}

NAMED: tuple[NamedCase, ...] = (
    # ---- conv2d
    _conv("conv-basic", "one image, one channel, a 3x3 kernel", "bias"),
    _conv("conv-no-bias", "b=None", "no_bias batch channels", batch=2, in_channels=2,
          out_channels=3, height=5, width=5, bias=False),
    _conv("conv-stride", "stride 2", "stride", height=7, width=7, stride=(2, 2)),
    _conv("conv-stride-unused", "stride 2 leaves the last row and column unread",
          "stride unused_input", height=6, width=6, stride=(2, 2)),
    _conv("conv-padding", "zero padding 1", "padding", padding=(1, 1)),
    _conv("conv-padding-only-window", "padding wider than the kernel: border outputs are b",
          "padding_only_window", height=3, width=3, kernel_size=(1, 1), padding=(2, 2)),
    _conv("conv-dilation", "dilation 2", "dilation", height=7, width=7, dilation=(2, 2)),
    _conv("conv-groups", "two groups", "groups", in_channels=4, out_channels=6, groups=2),
    _conv("conv-depthwise", "groups = channels", "depthwise", in_channels=3, out_channels=3,
          groups=3),
    _conv("conv-non-square", "every pair with different height and width",
          "non_square_input non_square_geometry stride padding dilation", height=5, width=8,
          kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), dilation=(2, 1)),
    _conv("conv-1x1", "a 1x1 kernel", "channels", in_channels=3, out_channels=2,
          kernel_size=(1, 1)),
    _conv("conv-whole-input", "the kernel covers the whole input: a 1x1 output", "",
          height=4, width=3, kernel_size=(4, 3)),
    _conv("conv-everything", "batch, groups, stride, padding and dilation at once",
          "batch groups stride padding dilation non_square_geometry", **_CONV_ALL),
    _conv("conv-everything-float32", "conv-everything in float32", "float32", **_CONV_ALL,
          dtype="float32"),
    _conv("conv-basic-float32", "conv-basic in float32", "float32", dtype="float32"),
    _conv("conv-everything-float16", "conv-everything in float16", "float16", **_CONV_ALL,
          dtype="float16"),
    _conv("conv-everything-bfloat16", "conv-everything in bfloat16", "bfloat16", **_CONV_ALL,
          dtype="bfloat16"),
    _conv("conv-near-overflow-float16", "float16 inputs near 65504: some outputs overflow to inf",
          "float16 near_overflow", **_CONV_ALL, dtype="float16"),
    _conv("conv-subnormal-float16", "float16 inputs among its subnormals",
          "float16 subnormal", **_CONV_ALL, dtype="float16"),
    _conv("conv-large-batch", "more than 32 images", "large_batch", batch=33, height=5, width=5),
    _conv("conv-many-channels", "more than 16 channels in and out", "many_channels",
          in_channels=18, out_channels=17, kernel_size=(2, 2)),
    _conv("conv-large-image", "a side longer than 40", "large_image", height=41, width=43,
          out_channels=2),
    *(
        _conv(f"conv-{layout}", f"conv-everything with inputs laid out {layout}", "",
              **_CONV_ALL, layout=layout)
        for layout in LAYOUTS[1:]
    ),
    # ---- max_pool2d
    _pool("pool-basic", "2x2 windows, stride=None", "stride_none"),
    _pool("pool-overlap", "3x3 windows, stride 1: the gradient accumulates",
          "overlapping_windows", height=5, width=5, kernel_size=(3, 3), stride=(1, 1)),
    _pool("pool-ties", "ties: the first maximum wins", "ties", height=6, width=6,
          values="ties"),
    _pool("pool-ties-overlap", "ties in overlapping windows", "ties overlapping_windows",
          height=5, width=6, kernel_size=(3, 3), stride=(1, 1), values="ties"),
    _pool("pool-nan", "NaN wins; of two NaN the last one takes the gradient", "nan nan_twice",
          height=6, width=6, values="nan"),
    _pool("pool-neginf", "windows of -inf only route to their first element",
          "neginf all_neginf_window", height=6, width=6, values="neginf"),
    _pool("pool-neginf-padded", "an all -inf window whose first tap is padding",
          "all_neginf_window_padded padding", height=5, width=5, kernel_size=(3, 3),
          stride=(2, 2), padding=(1, 1), values="neginf"),
    _pool("pool-padding-negative", "padding is -inf: a negative window over padding stays negative",
          "padding padding_negative_window", height=5, width=5, kernel_size=(3, 3),
          stride=(2, 2), padding=(1, 1)),
    _pool("pool-ceil", "ceil_mode: a last window that hangs over the end", "ceil_mode_extra_window",
          height=5, width=5, stride=(2, 2), ceil_mode=True),
    _pool("pool-ceil-rule", "ceil_mode drops a last window that would start in the padding",
          "ceil_mode_last_window_rule padding", height=5, width=5, stride=(2, 2),
          padding=(1, 1), ceil_mode=True),
    _pool("pool-dilation", "dilation 2", "dilation", height=7, width=7, kernel_size=(3, 3),
          stride=(2, 2), dilation=(2, 2)),
    _pool("pool-non-square", "every pair with different height and width",
          "non_square_input non_square_geometry padding dilation", height=5, width=7,
          kernel_size=(2, 3), stride=(1, 2), padding=(1, 0), dilation=(1, 2)),
    _pool("pool-unused", "stride 3 over a side of 5: the last rows are never read",
          "unused_input", height=5, width=5, stride=(3, 3)),
    _pool("pool-everything", "ties, batch, channels, stride, padding, dilation and ceil_mode",
          "ties batch channels ceil_mode non_square_geometry", **_POOL_ALL),
    _pool("pool-ties-float32", "pool-ties in float32", "ties float32", height=6, width=6,
          values="ties", dtype="float32"),
    _pool("pool-nan-float32", "pool-nan in float32", "nan float32", height=6, width=6,
          values="nan", dtype="float32"),
    _pool("pool-neginf-float32", "pool-neginf in float32", "all_neginf_window float32",
          height=6, width=6, values="neginf", dtype="float32"),
    _pool("pool-everything-float32", "pool-everything in float32", "ties float32", **_POOL_ALL,
          dtype="float32"),
    _pool("pool-ties-float16", "pool-ties in float16", "ties float16", height=6, width=6,
          values="ties", dtype="float16"),
    _pool("pool-everything-bfloat16", "pool-everything in bfloat16", "ties bfloat16", **_POOL_ALL,
          dtype="bfloat16"),
    _pool("pool-near-overflow-float16", "float16 inputs near 65504", "float16 near_overflow",
          **_POOL_ALL, dtype="float16"),
    _pool("pool-large-batch", "more than 32 images", "large_batch", batch=33),
    _pool("pool-many-channels", "more than 16 channels", "many_channels", channels=17),
    _pool("pool-large-image", "a side longer than 40", "large_image", height=41, width=42,
          kernel_size=(3, 3), stride=(2, 2)),
    *(
        _pool(f"pool-{layout}", f"pool-everything with inputs laid out {layout}", "",
              **_POOL_ALL, layout=layout)
        for layout in LAYOUTS[1:]
    ),
    # ---- avg_pool2d
    _avg_pool("avg-pool-sum-overflow-float16",
              "float16 values near 65504 in 4x4 windows: each window's sum passes 65504, its mean "
              "does not (a kernel that sums in float16 before it divides returns inf)",
              "float16 near_overflow", kernel_size=(4, 4), stride=(2, 2), dtype="float16"),
)  # fmt: skip


def named_cases() -> list[tuple[NamedCase, frozenset[str]]]:
    """The named cases, each with its seed found, and the features it exercises."""
    return [_with_wanted_features(named) for named in NAMED]


def _with_wanted_features(named: NamedCase) -> tuple[NamedCase, frozenset[str]]:
    for seed in range(SEED_SEARCH):
        case = replace(cast(Any, named.case), seed=seed)  # every op's case is a dataclass
        found = features_of(case)
        if named.wanted <= found:
            return replace(named, case=case), found
    missing = named.wanted - features_of(named.case)
    raise AssertionError(f"{named.name}: no seed below {SEED_SEARCH} gives {sorted(missing)}")


def sweep(seed: int, count: int) -> list[tuple[NamedCase, frozenset[str]]]:
    """``count`` small cases of every op in the registry, drawn from ``seed``.

    Each op's cases come from its own strategy (the one its backward's
    matches_reference property draws from), in the small size class, the
    dtypes in turn (float64, float32, float16, bfloat16): an op added to
    ``cnnref.ops.OPS`` is swept with no edit here.
    """
    cases: list[tuple[NamedCase, frozenset[str]]] = []
    for op in OPS:
        for index, case in enumerate(draw_cases(op, seed, count)):
            named = NamedCase(f"sweep-{op}-{index:02d}", case, f"seeded sweep (--seed {seed})")
            cases.append((named, features_of(case)))
    return cases


def draw_cases(op: str, seed: int, count: int) -> list[Case]:
    """``count`` distinct cases of ``op``, the i-th in ``DTYPES[i % 4]``, the same for the
    same seed in any process."""
    (prop,) = [p for p in all_properties() if p.name == f"{op}_backward.matches_reference"]
    small = tuple(size for size in SIZE_CLASSES if size.name == "small")
    by_dtype: dict[str, list[Case]] = {}
    for dtype in DTYPES:
        wanted = len(range(DTYPES.index(dtype), count, len(DTYPES)))
        strategy = prop.cases(dtype, frozenset(), "partial", sizes=small)
        drawn = _draw(strategy, wanted, _seed_of(seed, op, dtype)) if wanted else []
        by_dtype[dtype] = [_at_magnitude(case, index) for index, case in enumerate(drawn)]
    return [by_dtype[DTYPES[i % len(DTYPES)]][i // len(DTYPES)] for i in range(count)]


def _at_magnitude(case: Case, index: int) -> Case:
    """``case`` with the next seed whose values sit at the ``index``-th of its dtype's
    magnitudes in turn (float16: normal, near overflow, subnormal), so every op's sweep
    reaches each of them."""
    labels = MAGNITUDES.get(case.dtype, ("normal",))
    wanted = labels[index % len(labels)]
    seed = next(s for s in itertools.count(case.seed) if magnitude(case.dtype, s) == wanted)
    return cast(Case, replace(cast(Any, case), seed=seed))


def _seed_of(seed: int, op: str, dtype: str) -> int:
    digest = hashlib.sha256(f"vectors/{seed}/{op}/{dtype}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _draw(strategy: st.SearchStrategy, count: int, seed: int) -> list[Case]:
    """``count`` distinct examples, evenly spread over those Hypothesis generates from
    ``seed``, the last one included (it starts from the simplest one, the smallest
    geometry, which the named cases cover)."""
    drawn: dict[str, Case] = {}

    @hypothesis.seed(seed)
    @hypothesis.settings(
        hypothesis.settings.get_profile("default"),
        max_examples=DRAWS_PER_CASE * count,
        derandomize=False,
        database=None,
        deadline=None,
        phases=[hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    @hypothesis.given(strategy)
    def collect(case: Case) -> None:
        drawn.setdefault(repr(case), case)

    with draws_independent_of_loaded_modules():
        collect()
    if len(drawn) < count:
        raise AssertionError(f"{count} distinct cases wanted, Hypothesis drew {len(drawn)}")
    distinct = list(drawn.values())
    step = len(distinct) // count
    return distinct[len(distinct) - 1 - step * (count - 1) :: step][:count]
