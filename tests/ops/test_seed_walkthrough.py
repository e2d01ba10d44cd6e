"""The seed derivation's single-channel example, every table element checked exactly.

The seed (../shared/seed/) walks through a 3x3 input and a 2x2 kernel giving a
2x2 output.  It names the input W and the kernel X; here, as in the rest of
cnnref, the input is X and the kernel is W:

    x11 x12 x13        w11 w12        y11 y12
    x21 x22 x23   (*)  w21 w22   =    y21 y22
    x31 x32 x33

with y_pq = sum_ij x_(p+i-1)(q+j-1) * w_ij, a cross-correlation (the seed
calls it a convolution; no kernel is flipped).  With integer values every
product and sum is exact, so each table element is compared with ``==``.

Corrections to the seed's tables: in its first table the fourth partial of
each row is written d y/d x12 twice; the second one is d y/d x22
(``dy11/dw22 = x22`` below in this file's naming).
"""

from __future__ import annotations

import numpy as np
import pytest

import cnnref

rng = np.random.default_rng(2024)
X = rng.integers(-9, 10, (3, 3)).astype(np.float64)
W = rng.integers(-9, 10, (2, 2)).astype(np.float64)
DY = rng.integers(-9, 10, (2, 2)).astype(np.float64)
VALUES = {
    **{f"x{i + 1}{j + 1}": X[i, j] for i, j in np.ndindex(3, 3)},
    **{f"w{i + 1}{j + 1}": W[i, j] for i, j in np.ndindex(2, 2)},
    **{f"dy{i + 1}{j + 1}": DY[i, j] for i, j in np.ndindex(2, 2)},
}

# Forward: y_pq as the sum of the products the seed writes out.
FORWARD = {
    "y11": "w11*x11 + w12*x12 + w21*x21 + w22*x22",
    "y12": "w11*x12 + w12*x13 + w21*x22 + w22*x23",
    "y21": "w11*x21 + w12*x22 + w21*x31 + w22*x32",
    "y22": "w11*x22 + w12*x23 + w21*x32 + w22*x33",
}

# dy_pq / dw_ij: the input element under kernel tap ij in window pq (16 partials).
DY_DW = {
    ("y11", "w11"): "x11", ("y11", "w12"): "x12", ("y11", "w21"): "x21", ("y11", "w22"): "x22",
    ("y12", "w11"): "x12", ("y12", "w12"): "x13", ("y12", "w21"): "x22", ("y12", "w22"): "x23",
    ("y21", "w11"): "x21", ("y21", "w12"): "x22", ("y21", "w21"): "x31", ("y21", "w22"): "x32",
    ("y22", "w11"): "x22", ("y22", "w12"): "x23", ("y22", "w21"): "x32", ("y22", "w22"): "x33",
}  # fmt: skip

# dy_pq / dx_ab: the kernel tap that meets input element ab in window pq, or 0 (36 partials).
DY_DX = {
    ("y11", "x11"): "w11", ("y12", "x11"): "0",   ("y21", "x11"): "0",   ("y22", "x11"): "0",
    ("y11", "x12"): "w12", ("y12", "x12"): "w11", ("y21", "x12"): "0",   ("y22", "x12"): "0",
    ("y11", "x13"): "0",   ("y12", "x13"): "w12", ("y21", "x13"): "0",   ("y22", "x13"): "0",
    ("y11", "x21"): "w21", ("y12", "x21"): "0",   ("y21", "x21"): "w11", ("y22", "x21"): "0",
    ("y11", "x22"): "w22", ("y12", "x22"): "w21", ("y21", "x22"): "w12", ("y22", "x22"): "w11",
    ("y11", "x23"): "0",   ("y12", "x23"): "w22", ("y21", "x23"): "0",   ("y22", "x23"): "w12",
    ("y11", "x31"): "0",   ("y12", "x31"): "0",   ("y21", "x31"): "w21", ("y22", "x31"): "0",
    ("y11", "x32"): "0",   ("y12", "x32"): "0",   ("y21", "x32"): "w22", ("y22", "x32"): "w21",
    ("y11", "x33"): "0",   ("y12", "x33"): "0",   ("y21", "x33"): "0",   ("y22", "x33"): "w22",
}  # fmt: skip

# dL/dW = X correlated with dL/dY (valid): the seed's "W * dc/dY" in its naming.
DL_DW = {
    "w11": "dy11*x11 + dy12*x12 + dy21*x21 + dy22*x22",
    "w12": "dy11*x12 + dy12*x13 + dy21*x22 + dy22*x23",
    "w21": "dy11*x21 + dy12*x22 + dy21*x31 + dy22*x32",
    "w22": "dy11*x22 + dy12*x23 + dy21*x32 + dy22*x33",
}

# dL/dX = pad(dL/dY) correlated with rot180(W) (full): the seed's "pad(dc/dY) * rot(X)".
DL_DX = {
    "x11": "dy11*w11",
    "x12": "dy11*w12 + dy12*w11",
    "x13": "dy12*w12",
    "x21": "dy11*w21 + dy21*w11",
    "x22": "dy11*w22 + dy12*w21 + dy21*w12 + dy22*w11",
    "x23": "dy12*w22 + dy22*w12",
    "x31": "dy21*w21",
    "x32": "dy21*w22 + dy22*w21",
    "x33": "dy22*w22",
}


def evaluate(expression: str) -> float:
    """Value of a sum of products of named elements, e.g. ``"dy11*w12 + dy12*w11"``."""
    total = 0.0
    for term in expression.split("+"):
        product = 1.0
        for factor in term.strip().split("*"):
            product *= 0.0 if factor == "0" else VALUES[factor]
        total += product
    return total


def index(name: str) -> tuple[int, int]:
    """``"x23"`` -> (1, 2)."""
    return int(name[-2]) - 1, int(name[-1]) - 1


def one_hot_dy(output: str) -> np.ndarray:
    dy = np.zeros((1, 1, 2, 2))
    dy[(0, 0, *index(output))] = 1.0
    return dy


def test_tables_cover_every_element() -> None:
    assert len(FORWARD) == 4 and len(DL_DW) == 4 and len(DL_DX) == 9
    assert len(DY_DW) == 16, f"the seed lists 16 partials dy/dw; the table has {len(DY_DW)}"
    assert len(DY_DX) == 36, f"the seed lists 36 partials dy/dx; the table has {len(DY_DX)}"


@pytest.mark.parametrize("output", FORWARD)
def test_forward_element(output: str) -> None:
    y = cnnref.conv2d(X[None, None], W[None, None])[0, 0]
    assert y[index(output)] == evaluate(FORWARD[output]), f"{output}: {FORWARD[output]}"


@pytest.mark.parametrize(("output", "tap"), DY_DW)
def test_partial_of_output_by_kernel_tap(output: str, tap: str) -> None:
    _, dw, _ = cnnref.conv2d_backward(one_hot_dy(output), X[None, None], W[None, None])
    expected = evaluate(DY_DW[output, tap])
    assert dw[(0, 0, *index(tap))] == expected, f"d{output}/d{tap} should be {DY_DW[output, tap]}"


@pytest.mark.parametrize(("output", "element"), DY_DX)
def test_partial_of_output_by_input_element(output: str, element: str) -> None:
    dx, _, _ = cnnref.conv2d_backward(one_hot_dy(output), X[None, None], W[None, None])
    expected = evaluate(DY_DX[output, element])
    assert dx[(0, 0, *index(element))] == expected, (
        f"d{output}/d{element} should be {DY_DX[output, element]}"
    )


@pytest.mark.parametrize("tap", DL_DW)
def test_weight_gradient_element(tap: str) -> None:
    _, dw, _ = cnnref.conv2d_backward(DY[None, None], X[None, None], W[None, None])
    assert dw[(0, 0, *index(tap))] == evaluate(DL_DW[tap]), f"dL/d{tap} = {DL_DW[tap]}"


@pytest.mark.parametrize("element", DL_DX)
def test_input_gradient_element(element: str) -> None:
    dx, _, _ = cnnref.conv2d_backward(DY[None, None], X[None, None], W[None, None])
    assert dx[(0, 0, *index(element))] == evaluate(DL_DX[element]), (
        f"dL/d{element} = {DL_DX[element]}"
    )


def test_input_gradient_is_full_correlation_with_rotated_kernel() -> None:
    """The seed's closing identity, as a whole matrix: dL/dX = pad(dL/dY) (*) rot180(W)."""
    padded_dy = np.pad(DY, 1)
    full = cnnref.conv2d(padded_dy[None, None], W[::-1, ::-1][None, None].copy())[0, 0]
    dx, _, _ = cnnref.conv2d_backward(DY[None, None], X[None, None], W[None, None])
    assert np.array_equal(dx[0, 0], full), f"dL/dX =\n{dx[0, 0]}\npad(dL/dY) * rot180(W) =\n{full}"


def test_weight_gradient_is_input_correlated_with_output_gradient() -> None:
    """dL/dW = X (*) dL/dY, valid: the output gradient plays the kernel."""
    expected = cnnref.conv2d(X[None, None], DY[None, None])[0, 0]
    _, dw, _ = cnnref.conv2d_backward(DY[None, None], X[None, None], W[None, None])
    assert np.array_equal(dw[0, 0], expected), f"dL/dW =\n{dw[0, 0]}\nX * dL/dY =\n{expected}"
