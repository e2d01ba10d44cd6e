"""Every invalid call raises a clear error that names the argument and the rule it broke."""

from __future__ import annotations

import numpy as np
import pytest

import cnnref

X = np.zeros((2, 4, 6, 6))
W = np.zeros((6, 4, 3, 3))
DY = np.zeros((2, 6, 4, 4))
POOL_DY = np.zeros((2, 4, 3, 3))


# (float16 and bfloat16 are taken: summed in float32, rounded once; test_half_precision.py)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.complex128, object])
def test_unsupported_dtype_is_a_type_error_naming_the_dtype(dtype) -> None:
    bad = X.astype(dtype)
    with pytest.raises(
        TypeError,
        match=rf"x has dtype {np.dtype(dtype)}; cnnref supports float64, float32, float16 and bfloat16",
    ):
        cnnref.conv2d(bad, W)
    with pytest.raises(TypeError, match=r"w has dtype"):
        cnnref.conv2d(X, W.astype(dtype))
    with pytest.raises(TypeError, match=r"dy has dtype"):
        cnnref.conv2d_backward(DY.astype(dtype), X, W)
    with pytest.raises(TypeError, match=r"x has dtype"):
        cnnref.max_pool2d(bad, 2)
    with pytest.raises(TypeError, match=r"dy has dtype"):
        cnnref.max_pool2d_backward(POOL_DY.astype(dtype), X, 2)


CONV_ERRORS = {
    "3-D x": (
        (np.zeros((4, 6, 6)), W),
        {},
        ValueError,
        r"x must be a 4-D array \(N, C, H, W\); got shape \(4, 6, 6\)",
    ),
    "5-D x": ((np.zeros((1, 2, 4, 6, 6)), W), {}, ValueError, r"x must be a 4-D array"),
    "3-D w": (
        (X, np.zeros((4, 3, 3))),
        {},
        ValueError,
        r"w must be a 4-D array \(O, C/groups, kh, kw\)",
    ),
    "channel mismatch": (
        (X, np.zeros((6, 3, 3, 3))),
        {},
        ValueError,
        r"w.shape\[1\]=3 must equal C/groups = 4/1 = 4",
    ),
    "groups do not divide C": (
        (X, np.zeros((6, 1, 3, 3))),
        {"groups": 3},
        ValueError,
        r"groups=3 must divide the input channels C=4",
    ),
    "groups do not divide O": (
        (X, np.zeros((5, 2, 3, 3))),
        {"groups": 2},
        ValueError,
        r"groups=2 must divide the output channels O=5",
    ),
    "groups zero": ((X, W), {"groups": 0}, ValueError, r"groups must be >= 1; got 0"),
    "groups float": ((X, W), {"groups": 1.0}, TypeError, r"groups must be an int; got 1.0"),
    "kernel larger than padded input": (
        (X, np.zeros((6, 4, 9, 3))),
        {"padding": 1},
        ValueError,
        r"kernel height 9 with dilation 1 spans 9, more than the padded input height 6 \+ 2\*1 = 8",
    ),
    "dilated kernel too large": (
        (X, W),
        {"dilation": (1, 3)},
        ValueError,
        r"kernel width 3 with dilation 3 spans 7",
    ),
    "stride zero": ((X, W), {"stride": 0}, ValueError, r"stride must be >= 1; got 0"),
    "stride pair with zero": (
        (X, W),
        {"stride": (1, 0)},
        ValueError,
        r"stride must be >= 1; got \(1, 0\)",
    ),
    "dilation zero": ((X, W), {"dilation": 0}, ValueError, r"dilation must be >= 1"),
    "negative padding": ((X, W), {"padding": -1}, ValueError, r"padding must be >= 0; got -1"),
    "float stride": (
        (X, W),
        {"stride": 1.5},
        TypeError,
        r"stride must be an int or a pair of ints; got 1.5",
    ),
    "bool stride": (
        (X, W),
        {"stride": True},
        TypeError,
        r"stride must be an int or a pair of ints; got True",
    ),
    "triple padding": (
        (X, W),
        {"padding": (1, 1, 1)},
        TypeError,
        r"padding must be an int or a pair of ints",
    ),
    "string padding": (
        (X, W),
        {"padding": "same"},
        TypeError,
        r"padding must be an int or a pair of ints; got 'same'",
    ),
    "bias of the wrong length": (
        (X, W, np.zeros(5)),
        {},
        ValueError,
        r"b must have one entry per output channel, shape \(6,\); got \(5,\)",
    ),
    "2-D bias": ((X, W, np.zeros((6, 1))), {}, ValueError, r"b must be a 1-D array"),
    "no input channels": (
        (np.zeros((2, 0, 6, 6)), np.zeros((6, 0, 3, 3))),
        {},
        ValueError,
        r"x \(N, C, H, W\) must not be empty along any axis but N; got shape \(2, 0, 6, 6\)",
    ),
    "no output channels": (
        (X, np.zeros((0, 4, 3, 3))),
        {},
        ValueError,
        r"w \(O, C/groups, kh, kw\) must not be empty along any axis; got shape \(0, 4, 3, 3\)",
    ),
}


@pytest.mark.parametrize("case", CONV_ERRORS)
def test_invalid_conv2d_call(case: str) -> None:
    operands, geometry, error, message = CONV_ERRORS[case]
    with pytest.raises(error, match=message):
        cnnref.conv2d(*operands, **geometry)
    x, w, *b = operands
    with pytest.raises(error, match=message):
        cnnref.conv2d_backward(DY, x, w, *b, **geometry)


POOL_ERRORS = {
    "3-D x": (
        (np.zeros((4, 6, 6)),),
        {"kernel_size": 2},
        ValueError,
        r"x must be a 4-D array \(N, C, H, W\); got shape \(4, 6, 6\)",
    ),
    "kernel_size zero": ((X,), {"kernel_size": 0}, ValueError, r"kernel_size must be >= 1; got 0"),
    "kernel_size missing a value": (
        (X,),
        {"kernel_size": (2,)},
        TypeError,
        r"kernel_size must be an int or a pair of ints; got \(2,\)",
    ),
    "stride zero": (
        (X,),
        {"kernel_size": 2, "stride": 0},
        ValueError,
        r"stride must be >= 1; got 0",
    ),
    "padding over half the kernel": (
        (X,),
        {"kernel_size": 3, "padding": 2},
        ValueError,
        r"padding must be at most half the kernel size \(padding <= kernel_size // 2\); got padding=2 with kernel_size=3",
    ),
    "padding over half the kernel on one axis": (
        (X,),
        {"kernel_size": (2, 4), "padding": (0, 3)},
        ValueError,
        r"padding must be at most half the kernel size",
    ),
    "dilated padding beyond the rule": (
        (X,),
        {"kernel_size": 3, "dilation": 2, "padding": 2},
        ValueError,
        r"padding must be at most half the kernel size",
    ),
    "negative padding": (
        (X,),
        {"kernel_size": 2, "padding": -1},
        ValueError,
        r"padding must be >= 0",
    ),
    "dilation zero": (
        (X,),
        {"kernel_size": 2, "dilation": 0},
        ValueError,
        r"dilation must be >= 1",
    ),
    "kernel larger than input": (
        (X,),
        {"kernel_size": (7, 2)},
        ValueError,
        r"input height 6 is too small for kernel_size=\(7, 2\)",
    ),
    "dilated kernel larger than input": (
        (X,),
        {"kernel_size": 3, "dilation": 3},
        ValueError,
        r"input height 6 is too small",
    ),
    "ceil_mode not a bool": (
        (X,),
        {"kernel_size": 2, "ceil_mode": "yes"},
        TypeError,
        r"ceil_mode must be a bool; got 'yes'",
    ),
    "no channels": (
        (np.zeros((2, 0, 6, 6)),),
        {"kernel_size": 2},
        ValueError,
        r"x \(N, C, H, W\) must not be empty along any axis but N",
    ),
}


@pytest.mark.parametrize("case", POOL_ERRORS)
def test_invalid_max_pool2d_call(case: str) -> None:
    operands, geometry, error, message = POOL_ERRORS[case]
    with pytest.raises(error, match=message):
        cnnref.max_pool2d(*operands, **geometry)
    with pytest.raises(error, match=message):
        cnnref.max_pool2d_backward(POOL_DY, *operands, **geometry)


@pytest.mark.parametrize("shape", [(2, 6, 4, 3), (2, 5, 4, 4), (1, 6, 4, 4), (2, 6, 4, 4, 1)])
def test_conv2d_backward_rejects_dy_of_the_wrong_shape(shape) -> None:
    with pytest.raises(
        ValueError,
        match=r"dy must (have the shape of the forward output \(2, 6, 4, 4\)|be a 4-D array)",
    ):
        cnnref.conv2d_backward(np.zeros(shape), X, W)


@pytest.mark.parametrize("shape", [(2, 4, 3, 2), (2, 3, 3, 3), (2, 4, 4, 4)])
def test_max_pool2d_backward_rejects_dy_of_the_wrong_shape(shape) -> None:
    with pytest.raises(
        ValueError, match=r"dy must have the shape of the forward output \(2, 4, 3, 3\)"
    ):
        cnnref.max_pool2d_backward(np.zeros(shape), X, 2)
