"""The fast path (what cnnref.conv2d & co. run) against the literal derivation form,
on a table of geometries; see literal_checks.py for what "agree" means."""

from __future__ import annotations

import numpy as np
import pytest

import cnnref
from cnnref.ops import blocks
from cnnref.ops.conv2d import fast as conv_fast
from cnnref.ops.conv2d import literal as conv_literal
from cnnref.ops.conv2d.geometry import ConvGeometry
from cnnref.reference import fast, literal
from tests.literal_checks import (
    assert_matches_literal,
    check_conv_against_literal,
    check_pool_against_literal,
)
from tests.reference_examples import CONV_EXAMPLES as REGRESSION_CONV_EXAMPLES
from tests.reference_examples import POOL_EXAMPLES as REGRESSION_POOL_EXAMPLES
from tests.reference_examples import ConvExample, PoolExample, pool_input

RTOL = {np.float32: 1e-5, np.float64: 1e-12}


# The regression table's geometries, plus what exercises the fast path's own branches.
CONV_EXAMPLES = {
    **REGRESSION_CONV_EXAMPLES,
    "plain 3x3, padding 1": ConvExample((2, 3, 8, 8), (4, 3, 3, 3), True, {"padding": 1}),
    "groups with stride": ConvExample((2, 6, 8, 8), (9, 2, 3, 3), True, {"groups": 3, "stride": 2}),
    "depthwise, one output each": ConvExample((2, 4, 7, 6), (4, 1, 3, 3), True, {"groups": 4}),
    "first layer, one channel in": ConvExample((3, 1, 9, 9), (8, 1, 3, 3), True, {"padding": 1}),
    "first layer with stride and dilation": ConvExample(
        (2, 1, 11, 10), (4, 1, 3, 2), True, {"stride": 2, "dilation": 2, "padding": (2, 1)}
    ),
    "groups, four outputs per input": ConvExample((2, 4, 6, 6), (16, 2, 2, 3), True, {"groups": 2}),
    "empty batch": ConvExample((0, 2, 5, 5), (3, 2, 3, 3), True, {"padding": 1}),
    "MNIST layer 2 shape, small batch": ConvExample(
        (3, 32, 14, 14), (64, 32, 3, 3), True, {"padding": 1}
    ),
}


def conv_arrays(example: ConvExample, dtype: type, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(example.x_shape).astype(dtype)
    w = rng.standard_normal(example.w_shape).astype(dtype)
    b = rng.standard_normal(example.w_shape[0]).astype(dtype) if example.bias else None
    dy = rng.standard_normal(literal.conv2d(x, w, b, **example.geometry).shape).astype(dtype)
    return x, w, b, dy


@pytest.fixture(params=["default blocks", "one image per block"])
def block_budget(request, monkeypatch) -> None:
    """Run each example as the fast path does at scale too: split into many blocks."""
    if request.param == "one image per block":
        monkeypatch.setattr(blocks, "PATCH_BUDGET_BYTES", 1)
        monkeypatch.setattr(blocks, "PLANE_BUDGET_BYTES", 1)


@pytest.mark.usefixtures("block_budget")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", CONV_EXAMPLES)
def test_fast_conv2d_matches_literal(name: str, dtype: type) -> None:
    example = CONV_EXAMPLES[name]
    x, w, b, dy = conv_arrays(example, dtype, seed=sum(map(ord, name)))
    check_conv_against_literal(x, w, b, dy, example.geometry, RTOL[dtype])


@pytest.mark.parametrize("form", ["correlated", "scattered"])
@pytest.mark.parametrize("name", CONV_EXAMPLES)
def test_both_fast_input_gradient_forms_match_literal(name: str, form: str) -> None:
    """conv2d_backward picks one of two forms of dL/dX by shape: check each on every geometry."""
    example = CONV_EXAMPLES[name]
    x, w, _, dy = conv_arrays(example, np.float64, seed=sum(map(ord, name)))
    geometry = ConvGeometry.from_args(**example.geometry)
    if form == "scattered":
        dy_rows = conv_fast.gradient_rows(dy, geometry.groups)
        dx = conv_fast.scattered_input_gradient(dy_rows, w, x.shape, geometry)
    else:
        dx = conv_fast.correlated_input_gradient(dy, w, x.shape, geometry)
    expected = conv_literal.input_gradient(dy, w, x.shape, geometry)
    scale = conv_literal.input_gradient(np.abs(dy), np.abs(w), x.shape, geometry)
    assert_matches_literal(f"dx ({form})", dx, expected, scale, RTOL[np.float64])


def test_fast_conv2d_keeps_float32_and_promotes_mixed_dtypes() -> None:
    x, w, b, dy = conv_arrays(CONV_EXAMPLES["groups"], np.float32, seed=1)
    geometry = CONV_EXAMPLES["groups"].geometry
    y = cnnref.conv2d(x, w, b, **geometry)
    grads = cnnref.conv2d_backward(dy, x, w, b, **geometry)
    assert [a.dtype for a in (y, *grads)] == [np.float32] * 4, [a.dtype for a in (y, *grads)]
    mixed = cnnref.conv2d_backward(dy, x.astype(np.float64), w, b, **geometry)
    assert [a.dtype for a in mixed] == [np.float64] * 3, [a.dtype for a in mixed]
    check_conv_against_literal(x.astype(np.float64), w, b, dy, geometry, RTOL[np.float32])


def test_fast_conv2d_reads_non_contiguous_inputs_and_leaves_them_unchanged() -> None:
    example = CONV_EXAMPLES["stride, padding and dilation"]
    x, w, b, dy = conv_arrays(example, np.float64, seed=2)
    # Same values, transposed memory: every array is a non-contiguous view.
    x, w, dy = (np.swapaxes(np.swapaxes(a, 2, 3).copy(), 2, 3) for a in (x, w, dy))
    originals = [a.copy() for a in (x, w, b, dy)]
    check_conv_against_literal(x, w, b, dy, example.geometry, RTOL[np.float64])
    for name, array, original in zip("xwb", (x, w, b), originals):
        assert np.array_equal(array, original), f"{name} was modified"
    assert np.array_equal(dy, originals[3]), "dy was modified"


POOL_EXAMPLES = {
    **REGRESSION_POOL_EXAMPLES,
    "2x2 tiles, odd size drops the last row": PoolExample((2, 3, 9, 7), "ties", {"kernel_size": 2}),
    "windows overlap along one axis only": PoolExample(
        (1, 2, 6, 7), "ties", {"kernel_size": 2, "stride": (2, 1)}
    ),
    "dilated windows interleave": PoolExample(
        (1, 2, 9, 9), "ties", {"kernel_size": 2, "stride": 1, "dilation": 2}
    ),
    "NaN in tiles": PoolExample((2, 2, 8, 8), "nan", {"kernel_size": 2}),
    "signed zeros in tiles": PoolExample((2, 2, 8, 8), "signed-zeros", {"kernel_size": 2}),
    "signed zeros, overlapping": PoolExample(
        (2, 2, 7, 7), "signed-zeros", {"kernel_size": 3, "stride": 1, "padding": 1}
    ),
    "empty batch": PoolExample((0, 2, 6, 6), "normal", {"kernel_size": 2}),
    "more taps than uint8 holds": PoolExample((1, 1, 17, 17), "ties", {"kernel_size": 17}),
}


@pytest.mark.usefixtures("block_budget")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", POOL_EXAMPLES)
def test_fast_max_pool2d_matches_literal_exactly(name: str, dtype: type) -> None:
    example = POOL_EXAMPLES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    x = pool_input(example.x_shape, example.values, rng).astype(dtype)
    # dL/dY distinct per window (powers of two sum exactly), so a misrouted one shows.
    y_shape = literal.max_pool2d(x, **example.geometry).shape
    dy = (2.0 ** rng.integers(-8, 8, y_shape)).astype(dtype)
    check_pool_against_literal(x, dy, example.geometry)


# What the inputs hold (tests.reference_examples.pool_input).
VALUES = ("ties", "nan", "neginf", "signed-zeros", "all-neginf")
# The conventions a candidate may declare, each against PyTorch's (the defaults).
CONVENTION_CHOICES = [
    {"ties": ties, "nan": nan, "pad_value": pad_value}
    for ties in ("first", "split")
    for nan in ("propagate", "ignore", "first")
    for pad_value in ("-inf", "zeros", "-inf-competes")
    if (ties, nan, pad_value) != ("first", "propagate", "-inf")
]


@pytest.mark.usefixtures("block_budget")
@pytest.mark.parametrize("conventions", CONVENTION_CHOICES, ids=lambda c: ",".join(c.values()))
@pytest.mark.parametrize("name", POOL_EXAMPLES)
def test_fast_max_pool2d_matches_literal_exactly_under_every_convention(
    name: str, conventions: dict
) -> None:
    example = POOL_EXAMPLES[name]
    rng = np.random.default_rng(sum(map(ord, name)))
    for dtype in (np.float64, np.float32):
        all_nan = np.full(example.x_shape, np.nan, dtype)  # no maximum where NaN is ignored
        for x in [pool_input(example.x_shape, values, rng).astype(dtype) for values in VALUES]:
            y_shape = literal.max_pool2d(x, **example.geometry).shape
            dy = (2.0 ** rng.integers(-8, 8, y_shape)).astype(dtype)
            check_pool_against_literal(x, dy, example.geometry, **conventions)
        check_pool_against_literal(all_nan, dy, example.geometry, **conventions)


def test_fast_max_pool2d_backward_routes_non_finite_dy_like_the_literal_form() -> None:
    rng = np.random.default_rng(3)
    x = pool_input((2, 2, 6, 6), "ties", rng)
    dy = rng.choice([1.0, np.nan, np.inf, -np.inf, -0.0], size=(2, 2, 3, 3))
    check_pool_against_literal(x, dy, {"kernel_size": 2})
    check_pool_against_literal(x, dy[..., :2, :2], {"kernel_size": 3, "stride": 2})


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_max_pool2d_returns_the_routed_nan_itself(dtype: type) -> None:
    """Of several NaNs in a window the last one wins, and NaNs differ in sign and payload
    (inf - inf gives a negative NaN): the value returned is the routed NaN, bit for bit."""
    bits = np.dtype(f"u{np.dtype(dtype).itemsize}")
    payload_nan = (np.array(np.nan, dtype).view(bits) | 0x123).view(dtype)
    nans = np.array([np.nan, -np.nan, payload_nan, -payload_nan], dtype)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 8, 8)).astype(dtype)
    chosen = rng.random(x.shape) < 0.4
    x[chosen] = rng.choice(nans, size=chosen.sum())
    for geometry in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1}):
        dy = rng.standard_normal(literal.max_pool2d(x, **geometry).shape).astype(dtype)
        check_pool_against_literal(x, dy, geometry)


def test_fast_max_pool2d_backward_takes_the_common_dtype() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    dy = rng.standard_normal((2, 3, 3, 3))
    dx = cnnref.max_pool2d_backward(dy, x, 2)
    assert dx.dtype == np.float64, dx.dtype
    assert_matches_literal("dx", dx, literal.max_pool2d_backward(dy, x, 2), scale=0.0, rtol=0.0)


BAD_CALLS = {
    "conv2d, channel mismatch": ("conv2d", (np.zeros((2, 4, 6, 6)), np.zeros((6, 3, 3, 3))), {}),
    "conv2d, kernel too large": ("conv2d", (np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3))), {}),
    "conv2d, int x": ("conv2d", (np.zeros((1, 1, 4, 4), int), np.zeros((1, 1, 3, 3))), {}),
    "conv2d_backward, wrong dy shape": (
        "conv2d_backward",
        (np.zeros((1, 2, 3, 3)), np.zeros((1, 1, 4, 4)), np.zeros((2, 1, 3, 3))),
        {},
    ),
    "conv2d, bad stride": (
        "conv2d",
        (np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3))),
        {"stride": 0},
    ),
    "max_pool2d, padding above half the kernel": (
        "max_pool2d",
        (np.zeros((1, 1, 4, 4)), 2),
        {"padding": 2},
    ),
    "max_pool2d, no window fits": ("max_pool2d", (np.zeros((1, 1, 2, 2)), 3), {}),
    "max_pool2d_backward, wrong dy shape": (
        "max_pool2d_backward",
        (np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 4, 4)), 2),
        {},
    ),
    "max_pool2d, bool ceil_mode": ("max_pool2d", (np.zeros((1, 1, 4, 4)), 2), {"ceil_mode": 1}),
}


@pytest.mark.parametrize("name", BAD_CALLS)
def test_fast_and_literal_reject_bad_calls_with_the_same_error(name: str) -> None:
    function, args, kwargs = BAD_CALLS[name]
    errors = []
    for form in (fast, literal):
        with pytest.raises((TypeError, ValueError)) as raised:
            getattr(form, function)(*args, **kwargs)
        errors.append((raised.type, str(raised.value)))
    assert errors[0] == errors[1], f"fast raised {errors[0]}, literal raised {errors[1]}"
