"""The reference's contract beyond values: dtypes, empty batches, untouched inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cnnref
from cnnref import reference
from cnnref.checks.compare import assert_close, rtol_for
from cnnref.ops.conv2d.scales import conv2d_scale
from cnnref.oracles import torch_autograd

FLOATS = (np.float32, np.float64)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh generator per test: its inputs do not depend on which tests ran before."""
    return np.random.default_rng(5)


@pytest.mark.parametrize(
    ("x_dtype", "w_dtype", "b_dtype", "dy_dtype"), itertools.product(FLOATS, repeat=4)
)
def test_conv_results_have_the_result_type_of_their_inputs(
    x_dtype, w_dtype, b_dtype, dy_dtype, rng
) -> None:
    x = rng.standard_normal((2, 2, 5, 5)).astype(x_dtype)
    w = rng.standard_normal((3, 2, 3, 3)).astype(w_dtype)
    b = rng.standard_normal(3).astype(b_dtype)
    dy = rng.standard_normal((2, 3, 3, 3)).astype(dy_dtype)

    y = cnnref.conv2d(x, w, b)
    dx, dw, db = cnnref.conv2d_backward(dy, x, w, b)

    forward = np.result_type(x, w, b)
    backward = np.result_type(dy, x, w, b)
    assert y.dtype == forward, f"y is {y.dtype}; expected {forward}"
    assert (dx.dtype, dw.dtype, db.dtype) == (backward,) * 3, (
        f"gradients are {dx.dtype, dw.dtype, db.dtype}; expected {backward}"
    )


@pytest.mark.parametrize(("x_dtype", "dy_dtype"), itertools.product(FLOATS, repeat=2))
def test_pool_results_have_the_result_type_of_their_inputs(x_dtype, dy_dtype, rng) -> None:
    x = rng.standard_normal((1, 2, 4, 4)).astype(x_dtype)
    dy = rng.standard_normal((1, 2, 2, 2)).astype(dy_dtype)
    assert cnnref.max_pool2d(x, 2).dtype == x_dtype
    assert cnnref.max_pool2d_backward(dy, x, 2).dtype == np.result_type(dy, x)


def test_float32_conv_agrees_with_torch_float32(torch_required, rng) -> None:
    x = rng.standard_normal((4, 8, 16, 16)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    b = rng.standard_normal(16).astype(np.float32)
    dy = rng.standard_normal((4, 16, 16, 16)).astype(np.float32)
    y_torch, *_ = torch_autograd.with_gradients("conv2d", dy, x, w, b, padding=1)
    y = cnnref.conv2d(x, w, b, padding=1)
    assert y.dtype == np.float32
    assert_close(
        y,
        y_torch,
        scale=conv2d_scale(x, w, b, padding=1),
        rtol=rtol_for(np.float32, 8 * 9),
        name="y",
    )


def test_empty_batch_gives_empty_results() -> None:
    x, w = np.zeros((0, 2, 5, 5)), np.ones((3, 2, 3, 3))
    y = cnnref.conv2d(x, w, np.ones(3))
    dx, dw, db = cnnref.conv2d_backward(np.zeros((0, 3, 3, 3)), x, w, np.ones(3))
    assert y.shape == (0, 3, 3, 3) and dx.shape == x.shape
    assert np.array_equal(dw, np.zeros_like(w)) and np.array_equal(db, np.zeros(3))
    assert cnnref.max_pool2d(x, 2).shape == (0, 2, 2, 2)
    assert cnnref.max_pool2d_backward(np.zeros((0, 2, 2, 2)), x, 2).shape == x.shape


def test_results_never_alias_inputs(rng) -> None:
    """A 1x1 kernel of ones with one channel returns x's values: it must still be a new array."""
    x, w = rng.standard_normal((1, 1, 3, 3)), np.ones((1, 1, 1, 1))
    y = cnnref.conv2d(x, w)
    dx, dw, _ = cnnref.conv2d_backward(x.copy(), x, w)
    pooled = cnnref.max_pool2d(x, 1)
    for name, result in {"y": y, "dx": dx, "dw": dw, "pooled": pooled}.items():
        assert not np.shares_memory(result, x), f"{name} shares memory with x"
        assert not np.shares_memory(result, w), f"{name} shares memory with w"


def test_lists_are_accepted_as_arrays() -> None:
    y = cnnref.conv2d([[[[1.0, 2.0], [3.0, 4.0]]]], [[[[1.0]]]])
    assert np.array_equal(y, [[[[1.0, 2.0], [3.0, 4.0]]]])


@pytest.mark.parametrize("form", [reference.fast, reference.literal])
@pytest.mark.parametrize("dtype", FLOATS)
def test_conv2d_backward_without_dx_gives_the_same_dw_and_db(form, dtype, rng) -> None:
    """``need_dx=False`` (a first layer's backward) returns dx None and the very same dw, db."""
    x = rng.standard_normal((2, 4, 7, 6)).astype(dtype)
    w = rng.standard_normal((6, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal(6).astype(dtype)
    geometry = {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2}
    dy = rng.standard_normal(cnnref.conv2d(x, w, b, **geometry).shape).astype(dtype)
    dx, dw, db = form.conv2d_backward(dy, x, w, b, **geometry)
    skipped, dw_alone, db_alone = form.conv2d_backward(dy, x, w, b, **geometry, need_dx=False)
    assert skipped is None and dx is not None
    np.testing.assert_array_equal(dw_alone, dw)
    np.testing.assert_array_equal(db_alone, db)
    with pytest.raises(TypeError, match="need_dx must be a bool"):
        form.conv2d_backward(dy, x, w, b, **geometry, need_dx="no")
