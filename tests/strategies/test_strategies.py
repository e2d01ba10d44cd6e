"""The strategies themselves: valid by construction, covering every size class, honouring unsupported features."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnref
from cnnref.strategies import (
    DTYPES,
    DY_VALUES,
    FEATURES,
    LAYOUTS,
    POOL_VALUES,
    ConvCase,
    PoolCase,
    conv_cases,
    pool_cases,
    with_layout,
)
from cnnref.strategies.pooling import DISTINCT_SPACING

pytestmark = pytest.mark.slow  # draws thousands of Hypothesis examples

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(case=conv_cases())
def test_conv_cases_are_valid_and_their_arrays_fit(case: ConvCase) -> None:
    x, w, b, dy = case.arrays()
    y = cnnref.conv2d(x, w, b, **case.geometry)
    assert y.shape == case.y_shape == dy.shape
    assert x.dtype == w.dtype == np.dtype(case.dtype)


@QUICK
@given(case=pool_cases())
def test_pool_cases_are_valid_and_their_arrays_fit(case: PoolCase) -> None:
    x, dy = case.arrays()
    assert cnnref.max_pool2d(x, **case.geometry).shape == case.y_shape == dy.shape


@QUICK
@given(case=pool_cases(values=("distinct",), unsupported={"float16", "bfloat16"}))
def test_distinct_pool_values_are_far_apart(case: PoolCase) -> None:
    """In float64 and float32; in a half format a large example's values tie once rounded
    (test_half_precision_draws)."""
    x, _ = case.arrays()
    values = np.sort(x.ravel())
    gaps = np.diff(values)
    assert gaps.size == 0 or gaps.min() >= DISTINCT_SPACING, f"smallest gap {gaps.min()}"


def test_cases_are_reproducible_from_their_repr() -> None:
    case = ConvCase(
        2, 4, 6, 9, 7, (3, 2), stride=(2, 1), padding=(1, 0), groups=2, layout="fortran", seed=11
    )
    rebuilt = eval(repr(case), {"ConvCase": ConvCase})
    for a, b in zip(case.arrays(), rebuilt.arrays()):
        assert (a is None and b is None) or np.array_equal(a, b)


def test_hypothesis_prints_a_drawn_case_as_its_repr() -> None:
    from hypothesis.vendor.pretty import pretty

    case = ConvCase(1, 2, 2, 5, 5, (3, 3), dtype="float16", seed=3)
    assert pretty(case) == repr(case), "a failing draw must print as the line that rebuilds it"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_layouts_keep_values_and_change_memory(layout: str) -> None:
    array = np.arange(24.0).reshape(1, 2, 3, 4)
    laid_out = with_layout(array, layout)
    assert np.array_equal(laid_out, array)
    assert laid_out.flags.c_contiguous == (layout == "contiguous")


def draws(strategy: st.SearchStrategy, count: int = 400) -> list:
    found = []

    @settings(
        max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def collect(case):
        found.append(case)

    collect()
    return found


def test_every_size_class_is_reached() -> None:
    cases = draws(conv_cases())
    assert any(c.batch > 32 for c in cases), "no batch above 32"
    assert any(max(c.in_channels, c.out_channels) > 16 for c in cases), "no channels above 16"
    assert any(min(c.height, c.width) > 40 for c in cases), "no sides above 40"
    assert any(
        c.x_shape == (1, 1, 1, 1) or c.batch * c.in_channels * c.height * c.width <= 4
        for c in cases
    )


def test_every_feature_and_value_kind_is_drawn() -> None:
    conv, pool = draws(conv_cases()), draws(pool_cases())
    assert {c.groups for c in conv} >= {1, 2, 3}
    assert any(c.stride != (1, 1) for c in conv) and any(c.dilation != (1, 1) for c in conv)
    assert any(c.padding != (0, 0) for c in conv) and any(c.bias for c in conv)
    assert {c.layout for c in conv} == set(LAYOUTS)
    assert {c.values for c in pool} == set(POOL_VALUES)
    assert any(c.ceil_mode for c in pool) and any(c.stride is None for c in pool)


def test_unsupported_features_are_never_drawn() -> None:
    off = frozenset(FEATURES)
    for case in draws(conv_cases(unsupported=off), 200):
        assert (case.groups, case.stride, case.padding, case.dilation, case.bias) == (
            1,
            (1, 1),
            (0, 0),
            (1, 1),
            False,
        )
        assert case.layout == "contiguous" and case.kernel_size[0] == case.kernel_size[1]
    for case in draws(pool_cases(unsupported=off), 200):
        assert (
            not case.ceil_mode and case.stride is not None and case.values in ("distinct", "ties")
        )
    for case in draws(conv_cases(unsupported=off, dy_values=DY_VALUES), 100) + draws(
        pool_cases(unsupported=off, dy_values=DY_VALUES), 100
    ):
        assert (case.as_int, case.omitted) == ((), ()), case
        assert (case.dtype, case.dy_values) == ("float64", "finite"), case


def test_callers_spellings_dtypes_and_nonfinite_dy_are_drawn() -> None:
    conv = draws(conv_cases(dy_values=DY_VALUES))
    pool = draws(pool_cases(dy_values=DY_VALUES))
    for name in ("stride", "padding", "dilation"):
        assert any(name in c.as_int for c in conv), f"conv2d never got a plain int {name}"
    for name in ("b", "stride", "padding", "dilation", "groups"):
        assert any(name in c.omitted for c in conv), f"conv2d's {name} was never left out"
    assert any("kernel_size" in c.as_int for c in pool)
    for name in ("stride", "padding", "dilation", "ceil_mode"):
        assert any(name in c.omitted for c in pool), f"max_pool2d's {name} was never left out"
    for cases in (conv, pool):
        assert {c.dtype for c in cases} == set(DTYPES)
        assert {c.dy_values for c in cases} == set(DY_VALUES)
    assert {c.dy_values for c in draws(conv_cases(), 100)} == {"finite"}  # the default


@QUICK
@given(case=conv_cases())
def test_a_conv_call_as_spelled_means_the_call_with_every_pair(case: ConvCase) -> None:
    x, w, b, _ = case.arrays()
    args, kwargs = case.spell(x, w, b)
    assert set(kwargs).isdisjoint(case.omitted) and len(args) == 2 + (
        case.bias or "b" not in case.omitted
    )
    assert np.array_equal(cnnref.conv2d(*args, **kwargs), cnnref.conv2d(x, w, b, **case.geometry))


@QUICK
@given(case=pool_cases())
def test_a_pool_call_as_spelled_means_the_call_with_every_pair(case: PoolCase) -> None:
    x, _ = case.arrays()
    args, kwargs = case.spell(x)
    for name in case.as_int:
        assert isinstance(kwargs[name], int)
    expected = cnnref.max_pool2d(x, **case.geometry)
    assert np.array_equal(cnnref.max_pool2d(*args, **kwargs), expected, equal_nan=True)


def test_nonfinite_dy_holds_nan_and_leaves_the_other_arrays_alone() -> None:
    case = ConvCase(3, 2, 2, 6, 6, (2, 2), seed=5)
    finite = case.arrays()
    nonfinite = ConvCase(3, 2, 2, 6, 6, (2, 2), seed=5, dy_values="nonfinite").arrays()
    for name in ("x", "w", "b"):
        assert np.array_equal(getattr(finite, name), getattr(nonfinite, name))
    dy = nonfinite.dy
    assert np.isnan(dy).any() and np.isinf(dy).any()
    kept = np.isfinite(dy)
    assert np.array_equal(dy[kept], finite.dy[kept])
    tiny = PoolCase(1, 1, 1, 2, (1, 1), dy_values="nonfinite").arrays().dy
    assert np.isnan(tiny).any(), "even a one-element dy must hold a NaN"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: ConvCase(1, 1, 1, 3, 3, (1, 1), stride=(2, 2), omitted=("stride",)),
            "only an optional argument at its default",
        ),
        (lambda: ConvCase(1, 1, 1, 3, 3, (1, 1), bias=True, omitted=("b",)), "leaves out 'b'"),
        (
            lambda: ConvCase(1, 1, 1, 3, 3, (1, 1), stride=(2, 1), as_int=("stride",)),
            "only a square",
        ),
        (lambda: PoolCase(1, 1, 3, 3, (2, 2), dy_values="nan"), "dy_values must be one of"),
    ],
)
def test_a_case_refuses_a_spelling_it_cannot_mean(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_unknown_feature_names_are_an_error_that_lists_the_known_ones() -> None:
    with pytest.raises(
        ValueError, match=r"unknown features \['grups'\]; known features: \['bfloat16', 'bias'"
    ):
        draws(conv_cases(unsupported={"grups"}), 1)
