"""avg_pool2d's examples: valid by construction, every divisor rule drawn, spelled as callers
spell it, and unsupported features never drawn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import cnnref
from cnnref.ops import op_features
from cnnref.ops.avg_pool2d.cases import AVG_POOL_DEFAULTS, X_VALUES
from cnnref.strategies import DTYPES, DY_VALUES, FEATURES, LAYOUTS, AvgPoolCase, avg_pool_cases
from tests.strategies.test_strategies import draws

pytestmark = pytest.mark.slow  # draws thousands of Hypothesis examples

QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(case=avg_pool_cases(dy_values=DY_VALUES, x_values=X_VALUES))
def test_cases_are_valid_and_their_arrays_fit(case: AvgPoolCase) -> None:
    x, dy = case.arrays()
    with np.errstate(invalid="ignore"):
        assert cnnref.avg_pool2d(x, **case.geometry).shape == case.y_shape == dy.shape
    assert x.dtype == dy.dtype == np.dtype(case.dtype)
    assert np.isfinite(x).all() == (case.x_values == "finite")
    assert np.isfinite(dy).all() == (case.dy_values == "finite")


@QUICK
@given(case=avg_pool_cases())
def test_a_call_as_spelled_means_the_call_with_every_argument(case: AvgPoolCase) -> None:
    x, _ = case.arrays()
    args, kwargs = case.spell(x)
    assert set(kwargs).isdisjoint(case.omitted)
    for name in case.as_int:
        assert isinstance(kwargs[name], int)
    assert np.array_equal(cnnref.avg_pool2d(*args, **kwargs), cnnref.avg_pool2d(x, **case.geometry))


def test_every_divisor_rule_spelling_and_size_is_drawn() -> None:
    cases = draws(avg_pool_cases(dy_values=DY_VALUES, x_values=X_VALUES))
    assert any(c.ceil_mode for c in cases) and any(c.stride is None for c in cases)
    assert any(not c.count_include_pad and c.padding != (0, 0) for c in cases)
    overrides = {c.divisor_override for c in cases}
    assert None in overrides and any(d is not None and d < 0 for d in overrides)
    for name in ("kernel_size", "stride", "padding"):
        assert any(name in c.as_int for c in cases), f"avg_pool2d never got a plain int {name}"
    for name in AVG_POOL_DEFAULTS:
        assert any(name in c.omitted for c in cases), f"avg_pool2d's {name} was never left out"
    assert {c.dtype for c in cases} == set(DTYPES) and {c.layout for c in cases} == set(LAYOUTS)
    assert {c.dy_values for c in cases} == set(DY_VALUES)
    assert {c.x_values for c in cases} == set(X_VALUES)
    assert {c.x_values for c in draws(avg_pool_cases(), 50)} == {"finite"}  # the default
    assert any(c.batch > 32 for c in cases) and any(min(c.height, c.width) > 40 for c in cases)


def test_the_op_declares_its_own_features() -> None:
    own = op_features("avg_pool2d")
    assert {"count_include_pad", "divisor_override", "ceil_mode", "stride_none"} <= set(own)
    assert "nonfinite_x" in own
    assert set(own) <= set(FEATURES)


def test_unsupported_features_are_never_drawn() -> None:
    everything = avg_pool_cases(
        unsupported=frozenset(FEATURES), dy_values=DY_VALUES, x_values=X_VALUES
    )
    for case in draws(everything, 200):
        assert case.padding == (0, 0) and case.stride == case.kernel_size, case
        assert not case.ceil_mode and case.count_include_pad and case.divisor_override is None
        assert case.kernel_size[0] == case.kernel_size[1] and case.height == case.width, case
        assert (case.layout, case.dtype) == ("contiguous", "float64")
        assert (case.dy_values, case.x_values) == ("finite", "finite")
        assert (case.as_int, case.omitted) == ((), ()), case


@pytest.mark.parametrize(
    ("feature", "drawn"),
    [
        ("count_include_pad", lambda c: not c.count_include_pad),
        ("divisor_override", lambda c: c.divisor_override is not None),
        ("ceil_mode", lambda c: c.ceil_mode),
        ("stride_none", lambda c: c.stride is None),
        ("pool_padding", lambda c: c.padding != (0, 0)),
    ],
)
def test_each_feature_of_the_op_alone_is_turned_off(feature: str, drawn) -> None:
    """Off alone, the feature is never drawn; everything else still is."""
    cases = draws(avg_pool_cases(unsupported={feature}), 150)
    assert not any(drawn(c) for c in cases), feature
    assert any(drawn(c) for c in draws(avg_pool_cases(), 150)), feature


def test_windows_exact_draws_only_windows_that_tile() -> None:
    for case in draws(avg_pool_cases(windows="exact"), 150):
        stride = case.stride or case.kernel_size
        for side, k, s, p in zip((case.height, case.width), case.kernel_size, stride, case.padding):
            assert (side + 2 * p - k) % s == 0, case


def test_a_case_is_reproducible_from_its_repr_and_refuses_a_spelling_it_cannot_mean() -> None:
    case = AvgPoolCase(2, 3, 7, 6, (3, 2), (2, 1), (1, 0), True, False, -3, layout="fortran")
    rebuilt = eval(repr(case), {"AvgPoolCase": AvgPoolCase})
    for a, b in zip(case.arrays(), rebuilt.arrays()):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="only an optional argument at its default"):
        AvgPoolCase(1, 1, 4, 4, (2, 2), divisor_override=3, omitted=("divisor_override",))
    with pytest.raises(ValueError, match="only a square"):
        AvgPoolCase(1, 1, 4, 4, (2, 1), as_int=("kernel_size",))
    with pytest.raises(ValueError, match="x_values must be one of"):
        AvgPoolCase(1, 1, 4, 4, (2, 2), x_values="nan")
