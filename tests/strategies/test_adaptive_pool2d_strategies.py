"""The adaptive pools' examples: valid by construction, every kind of output side drawn (one
that divides the input, one that does not, 1, larger than the input, None), spelled as PyTorch
takes them, and unsupported features never drawn."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import cnnref
from cnnref.ops.adaptive_avg_pool2d.cases import X_VALUES, upsamples
from cnnref.strategies import (
    DY_VALUES,
    AdaptiveAvgPoolCase,
    AdaptiveMaxPoolCase,
    adaptive_avg_pool_cases,
    adaptive_max_pool_cases,
)
from tests.strategies.test_strategies import draws

pytestmark = pytest.mark.slow  # draws hundreds of Hypothesis examples

QUICK = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STRATEGIES = {
    "adaptive_avg_pool2d": lambda **options: adaptive_avg_pool_cases(x_values=X_VALUES, **options),
    "adaptive_max_pool2d": adaptive_max_pool_cases,
}


@QUICK
@given(case=adaptive_avg_pool_cases(dy_values=DY_VALUES, x_values=X_VALUES))
def test_average_cases_are_valid_and_their_arrays_fit(case: AdaptiveAvgPoolCase) -> None:
    x, dy = case.arrays()
    args, kwargs = case.spell(x)
    with np.errstate(invalid="ignore", over="ignore"):
        y = cnnref.adaptive_avg_pool2d(*args, **kwargs)
        assert np.array_equal(y, cnnref.adaptive_avg_pool2d(x, **case.geometry), equal_nan=True)
    assert y.shape == case.y_shape == dy.shape
    assert x.dtype == dy.dtype == np.dtype(case.dtype)
    assert np.isfinite(x).all() == (case.x_values == "finite")
    assert np.isfinite(dy).all() == (case.dy_values == "finite")


@QUICK
@given(case=adaptive_max_pool_cases(dy_values=DY_VALUES))
def test_max_cases_are_valid_and_spelled_as_pytorch_takes_them(case: AdaptiveMaxPoolCase) -> None:
    x, dy = case.arrays()
    args, kwargs = case.spell(x)
    assert kwargs["output_size"] is not None  # PyTorch takes None only inside a pair
    y = cnnref.adaptive_max_pool2d(*args, **kwargs)
    assert y.shape == case.y_shape == dy.shape and x.dtype == np.dtype(case.dtype)
    assert case.values == "nan" or not np.isnan(x).any()


@pytest.mark.parametrize("op", STRATEGIES)
def test_every_kind_of_output_side_and_spelling_is_drawn(op: str) -> None:
    cases = draws(STRATEGIES[op]())
    kinds = {kind for c in cases for kind in c.coverage()["output_size"].split(" x ")}
    assert kinds == {"1", "divides", "overlapping", "upsampling"}, kinds
    assert any(None in c.output_size for c in cases)
    assert any(c.as_int == ("output_size",) for c in cases)


@pytest.mark.parametrize("op", STRATEGIES)
def test_unsupported_features_are_never_drawn(op: str) -> None:
    off = {"output_size_none", "output_upsampling", "non_square_input", "non_square_geometry"}
    for case in draws(STRATEGIES[op](unsupported=off)):
        assert None not in case.output_size and not upsamples(case)
        assert case.height == case.width and case.output_size[0] == case.output_size[1]
