"""Regression table: the reference against PyTorch CPU, forward and backward, in float64.

Each case runs in every memory layout, and the inputs must come back unchanged.
"""

from __future__ import annotations

import numpy as np
import pytest

import cnnref
from cnnref.checks.compare import FLOAT64_RTOL, assert_close
from cnnref.ops.conv2d.scales import conv2d_backward_scales, conv2d_scale
from cnnref.ops.max_pool2d.scales import max_pool2d_backward_scale
from cnnref.oracles import torch_autograd
from cnnref.strategies.layouts import LAYOUTS, with_layout
from tests.reference_examples import CONV_EXAMPLES, POOL_EXAMPLES, pool_input

pytestmark = pytest.mark.usefixtures("torch_required")


def assert_unchanged(originals: dict[str, np.ndarray], arrays: dict[str, np.ndarray]) -> None:
    for name, original in originals.items():
        assert np.array_equal(arrays[name], original, equal_nan=True), f"{name} was modified"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", CONV_EXAMPLES)
def test_conv2d_matches_torch(name: str, layout: str) -> None:
    example = CONV_EXAMPLES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    x = rng.standard_normal(example.x_shape)
    w = rng.standard_normal(example.w_shape)
    b = rng.standard_normal(example.w_shape[0]) if example.bias else None
    dy = rng.standard_normal(cnnref.conv2d(x, w, b, **example.geometry).shape)
    y_torch, dx_torch, dw_torch, db_torch = torch_autograd.with_gradients(
        "conv2d", dy, x, w, b, **example.geometry
    )
    arrays = {
        "x": with_layout(x, layout),
        "w": with_layout(w, layout),
        "dy": with_layout(dy, layout),
    }
    originals = {k: v.copy() for k, v in arrays.items()}

    y = cnnref.conv2d(arrays["x"], arrays["w"], b, **example.geometry)
    dx, dw, db = cnnref.conv2d_backward(
        arrays["dy"], arrays["x"], arrays["w"], b, **example.geometry
    )

    assert_unchanged(originals, arrays)
    assert_close(
        y, y_torch, scale=conv2d_scale(x, w, b, **example.geometry), rtol=FLOAT64_RTOL, name="y"
    )
    dx_scale, dw_scale, db_scale = conv2d_backward_scales(dy, x, w, b, **example.geometry)
    assert_close(dx, dx_torch, scale=dx_scale, rtol=FLOAT64_RTOL, name="dx")
    assert_close(dw, dw_torch, scale=dw_scale, rtol=FLOAT64_RTOL, name="dw")
    if b is None:
        assert db is None, f"db must be None when b is None; got {db!r}"
    else:
        assert_close(db, db_torch, scale=db_scale, rtol=FLOAT64_RTOL, name="db")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", POOL_EXAMPLES)
def test_max_pool2d_matches_torch(name: str, layout: str) -> None:
    example = POOL_EXAMPLES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    x = pool_input(example.x_shape, example.values, rng)
    y_shape = cnnref.max_pool2d(x, **example.geometry).shape
    dy = rng.standard_normal(y_shape)
    y_torch, dx_torch = torch_autograd.with_gradients("max_pool2d", dy, x, **example.geometry)
    arrays = {"x": with_layout(x, layout), "dy": with_layout(dy, layout)}
    originals = {k: v.copy() for k, v in arrays.items()}

    y = cnnref.max_pool2d(arrays["x"], **example.geometry)
    dx = cnnref.max_pool2d_backward(arrays["dy"], arrays["x"], **example.geometry)

    assert_unchanged(originals, arrays)
    # A maximum is a selection: values must agree exactly, NaN included.
    assert_close(y, y_torch, scale=0.0, rtol=0.0, name="y")
    scale = max_pool2d_backward_scale(dy, x, **example.geometry)
    assert_close(dx, dx_torch, scale=scale, rtol=FLOAT64_RTOL, name="dx")
