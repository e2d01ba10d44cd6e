"""conv_transpose2d's strategy: valid by construction, reaching every feature and size class,
never drawing a feature a candidate declared unsupported."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnref
from cnnref.declarations import functions_with
from cnnref.ops import op_features
from cnnref.strategies import (
    DTYPES,
    DY_VALUES,
    FEATURES,
    LAYOUTS,
    ConvTransposeCase,
    conv_transpose_cases,
)

pytestmark = pytest.mark.slow  # draws thousands of Hypothesis examples

QUICK = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def draws(strategy: st.SearchStrategy, count: int = 300) -> list[ConvTransposeCase]:
    found = []

    @settings(
        max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def collect(case):
        found.append(case)

    collect()
    return found


@QUICK
@given(case=conv_transpose_cases(dy_values=DY_VALUES))
def test_cases_are_valid_and_their_arrays_fit(case: ConvTransposeCase) -> None:
    x, w, b, dy = case.arrays()
    y = cnnref.conv_transpose2d(x, w, b, **case.geometry)
    assert y.shape == case.y_shape == dy.shape
    assert x.shape == case.x_shape and w.shape == case.w_shape
    assert x.dtype == w.dtype == dy.dtype == np.dtype(case.dtype)
    assert (b is not None) == case.bias
    # As spelled (ints, arguments left out) the call means the same call.
    args, kwargs = case.spell(x, w, b)
    assert np.array_equal(cnnref.conv_transpose2d(*args, **kwargs), y, equal_nan=True)


def test_every_feature_size_class_and_spelling_is_drawn() -> None:
    cases = draws(conv_transpose_cases(dy_values=DY_VALUES), 400)
    assert {c.groups for c in cases} >= {1, 2, 3}
    for name in ("stride", "padding", "output_padding", "dilation"):
        assert any(getattr(c, name) not in ((0, 0), (1, 1)) for c in cases), f"no {name} drawn"
    assert any(c.output_padding != (0, 0) and c.padding != (0, 0) for c in cases)
    assert any(c.bias for c in cases) and not all(c.bias for c in cases)
    assert {c.layout for c in cases} == set(LAYOUTS)
    assert {c.dtype for c in cases} == set(DTYPES)
    assert {c.dy_values for c in cases} == set(DY_VALUES)
    assert any(c.batch > 32 for c in cases), "no batch above 32"
    assert any(max(c.in_channels, c.out_channels) > 16 for c in cases), "no channels above 16"
    assert any(min(c.height, c.width) > 40 for c in cases), "no sides above 40"
    for name in ("b", "stride", "padding", "output_padding", "groups", "dilation"):
        assert any(name in c.omitted for c in cases), f"{name} was never left out"
    for name in ("stride", "padding", "output_padding", "dilation"):
        assert any(name in c.as_int for c in cases), f"{name} was never a plain int"


def test_unsupported_features_are_never_drawn() -> None:
    off = frozenset(FEATURES)
    for case in draws(conv_transpose_cases(unsupported=off, dy_values=DY_VALUES), 200):
        geometry = (case.groups, case.stride, case.padding, case.output_padding, case.dilation)
        assert geometry == (1, (1, 1), (0, 0), (0, 0), (1, 1)), case
        assert not case.bias and case.layout == "contiguous" and case.height == case.width
        assert case.kernel_size[0] == case.kernel_size[1]
        assert (case.as_int, case.omitted, case.dtype, case.dy_values) == (
            (),
            (),
            "float64",
            "finite",
        ), case


def test_output_padding_alone_can_be_unsupported() -> None:
    cases = draws(conv_transpose_cases(unsupported={"output_padding"}), 200)
    assert all(c.output_padding == (0, 0) for c in cases)
    assert any(c.stride != (1, 1) for c in cases) and any(c.padding != (0, 0) for c in cases)


def test_the_ops_own_features_are_declarable_for_its_functions() -> None:
    assert set(op_features("conv_transpose2d")) >= {"output_padding", "groups", "bias"}
    assert functions_with("output_padding") == ("conv_transpose2d", "conv_transpose2d_backward")
    assert "conv_transpose2d_backward" in functions_with("groups")


def test_cases_are_reproducible_from_their_repr() -> None:
    case = ConvTransposeCase(
        2, 4, 6, 5, 3, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2
    )
    rebuilt = eval(repr(case), {"ConvTransposeCase": ConvTransposeCase})
    for a, b in zip(case.arrays(), rebuilt.arrays()):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"omitted": ("output_padding",), "output_padding": (1, 1), "stride": (2, 2)}, "left out"),
        ({"as_int": ("padding",), "padding": (1, 0)}, "plain int"),
    ],
)
def test_a_case_refuses_a_spelling_it_cannot_mean(fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ConvTransposeCase(1, 1, 1, 3, 3, (2, 2), **fields)
