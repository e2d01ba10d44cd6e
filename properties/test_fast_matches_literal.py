"""Property: on any valid example, the fast path computes what the literal form computes.

Examples come from the project's strategies (every geometry feature, four
size classes, memory layouts, tie-rich and non-finite pool values); conv
results must agree to rounding (rtol 1e-12 of the same sums over absolute
values in float64), pooling results exactly, routing included.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnref.ops.max_pool2d.geometry import POOL_CONVENTIONS
from cnnref.strategies import conv_cases, pool_cases
from tests.literal_checks import check_conv_against_literal, check_pool_against_literal

pytestmark = pytest.mark.slow  # every geometry the strategies draw, both forms

SETTINGS = settings(max_examples=60, deadline=None)
RTOL = {"float32": 1e-5, "float64": 1e-12}


@SETTINGS
@given(st.data())
def test_fast_conv2d_matches_literal_on_random_examples(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(["float64", "float32"]), label="dtype")
    case = data.draw(conv_cases(dtype=dtype), label="conv case")
    x, w, b, dy = case.arrays()
    check_conv_against_literal(x, w, b, dy, case.geometry, RTOL[dtype])


@SETTINGS
@given(st.data())
def test_fast_max_pool2d_matches_literal_exactly_on_random_examples(data: st.DataObject) -> None:
    dtype = data.draw(st.sampled_from(["float64", "float32"]), label="dtype")
    case = data.draw(pool_cases(dtype=dtype), label="pool case")
    x, dy = case.arrays()
    if data.draw(st.booleans(), label="negative zeros"):
        # Give some zeros a minus sign: a -0/+0 tie must keep the first, as PyTorch does.
        flip = np.random.default_rng(case.seed).random(x.shape) < 0.5
        x = np.where((x == 0) & flip, -0.0, x).astype(dtype)
    # Powers of two: sums of routed gradients are exact, so any misrouting shows.
    dy = (2.0 ** np.random.default_rng(case.seed).integers(-8, 8, dy.shape)).astype(dtype)
    check_pool_against_literal(x, dy, case.geometry)


@SETTINGS
@given(st.data())
def test_fast_max_pool2d_matches_literal_exactly_under_every_convention(
    data: st.DataObject,
) -> None:
    """The conventions a candidate may declare (ties split, NaN ignored, zero padding, exact
    windows): the two forms implement each independently and must agree bit for bit."""
    conventions = {
        name: data.draw(st.sampled_from(values), label=name)
        for name, values in POOL_CONVENTIONS.items()
    }
    dtype = data.draw(st.sampled_from(["float64", "float32"]), label="dtype")
    case = data.draw(pool_cases(dtype=dtype, windows=conventions["windows"]), label="pool case")
    x, dy = case.arrays()
    dy = (2.0 ** np.random.default_rng(case.seed).integers(-8, 8, dy.shape)).astype(dtype)
    check_pool_against_literal(x, dy, case.geometry, **conventions)
