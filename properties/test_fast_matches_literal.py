"""Property: on any valid geometry, the fast path computes what the literal form computes.

Geometries are drawn at random (groups, stride, padding, dilation, ceil_mode,
sizes down to a single window, empty batches); conv results must agree to
rounding in float64 (rtol 1e-12 of the same sums over absolute values),
pooling results exactly, routing included.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from cnnref.reference import literal
from cnnref.reference.geometry import effective_kernel
from tests.literal_checks import check_conv_against_literal, check_pool_against_literal

SETTINGS = settings(max_examples=100, deadline=None)
pairs = st.tuples


def draw_spatial_size(
    data: st.DataObject, axis: str, kernel: int, dilation: int, padding: int
) -> int:
    """An input size along ``axis`` that leaves room for at least one window."""
    smallest = max(1, effective_kernel(kernel, dilation) - 2 * padding)
    return data.draw(st.integers(smallest, smallest + 8), label=f"{axis} size")


@SETTINGS
@given(st.data())
def test_fast_conv2d_matches_literal_on_random_geometries(data: st.DataObject) -> None:
    groups = data.draw(st.integers(1, 3), label="groups")
    in_per_group = data.draw(st.integers(1, 3), label="input channels per group")
    out_per_group = data.draw(st.integers(1, 3), label="output channels per group")
    kernel = data.draw(pairs(st.integers(1, 4), st.integers(1, 4)), label="kernel size")
    stride = data.draw(pairs(st.integers(1, 3), st.integers(1, 3)), label="stride")
    dilation = data.draw(pairs(st.integers(1, 3), st.integers(1, 3)), label="dilation")
    padding = data.draw(pairs(st.integers(0, 3), st.integers(0, 3)), label="padding")
    height, width = (
        draw_spatial_size(data, axis, *args)
        for axis, args in zip(("height", "width"), zip(kernel, dilation, padding))
    )
    batch = data.draw(st.integers(0, 3), label="batch")
    bias = data.draw(st.booleans(), label="bias")
    seed = data.draw(st.integers(0, 2**16), label="seed")

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, groups * in_per_group, height, width))
    w = rng.standard_normal((groups * out_per_group, in_per_group, *kernel))
    b = rng.standard_normal(groups * out_per_group) if bias else None
    geometry = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    dy = rng.standard_normal(literal.conv2d(x, w, b, **geometry).shape)
    check_conv_against_literal(x, w, b, dy, geometry, rtol=1e-12)


# Few distinct values, so windows tie; NaN, infinities and both zeros, so every routing rule is hit.
POOL_ELEMENTS = st.sampled_from([0.0, 1.0, -1.0, 2.0, -0.0, np.nan, -np.inf, np.inf])


@SETTINGS
@given(st.data())
def test_fast_max_pool2d_matches_literal_exactly_on_random_geometries(data: st.DataObject) -> None:
    kernel = data.draw(pairs(st.integers(1, 4), st.integers(1, 4)), label="kernel size")
    stride = data.draw(pairs(st.integers(1, 4), st.integers(1, 4)), label="stride")
    dilation = data.draw(pairs(st.integers(1, 3), st.integers(1, 3)), label="dilation")
    padding = data.draw(
        pairs(st.integers(0, kernel[0] // 2), st.integers(0, kernel[1] // 2)), label="padding"
    )
    ceil_mode = data.draw(st.booleans(), label="ceil_mode")
    height, width = (
        draw_spatial_size(data, axis, *args)
        for axis, args in zip(("height", "width"), zip(kernel, dilation, padding))
    )
    shape = (
        data.draw(st.integers(0, 2), label="batch"),
        data.draw(st.integers(1, 3), label="channels"),
    )
    dtype = data.draw(st.sampled_from([np.float64, np.float32]), label="dtype")
    x = data.draw(hnp.arrays(dtype, (*shape, height, width), elements=POOL_ELEMENTS), label="x")
    geometry = {
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "ceil_mode": ceil_mode,
    }
    y_shape = literal.max_pool2d(x, **geometry).shape
    seed = data.draw(st.integers(0, 2**16), label="dy seed")
    # Powers of two: sums of routed gradients are exact, so any misrouting shows.
    dy = 2.0 ** np.random.default_rng(seed).integers(-8, 8, y_shape)
    check_pool_against_literal(x, dy, geometry)
