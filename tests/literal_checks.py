"""Checks of the fast path against the literal form, shared by tests/ and properties/.

Conv results must agree to rounding: within ``rtol`` times the same sums
taken over absolute values (the literal form applied to |x|, |w|, |dy|),
which bounds the rounding error of any summation order.  Pooling selects
rather than sums, so its results must agree exactly: values (the sign of
zero included), routing, and dtypes.
"""

from __future__ import annotations

import numpy as np

import cnnref
from cnnref.reference import literal


def assert_matches_literal(name: str, fast_result, literal_result, magnitude, rtol: float) -> None:
    assert fast_result.shape == literal_result.shape, (
        f"{name}: fast shape {fast_result.shape} != literal shape {literal_result.shape}"
    )
    assert fast_result.dtype == literal_result.dtype, (
        f"{name}: fast dtype {fast_result.dtype} != literal dtype {literal_result.dtype}"
    )
    error = np.abs(fast_result.astype(np.float64) - literal_result)
    excess = error - rtol * magnitude
    if excess.size and excess.max() > 0:
        at = np.unravel_index(np.argmax(excess), excess.shape)
        raise AssertionError(
            f"{name} at {at}: fast {fast_result[at]!r}, literal {literal_result[at]!r}, "
            f"|difference| {error[at]:.3g} > {rtol} x magnitude {magnitude[at]:.3g}"
        )


def check_conv_against_literal(x, w, b, dy, geometry: dict, rtol: float) -> None:
    abs_b = None if b is None else np.abs(b)
    y_magnitude = literal.conv2d(np.abs(x), np.abs(w), abs_b, **geometry)
    assert_matches_literal(
        "y",
        cnnref.conv2d(x, w, b, **geometry),
        literal.conv2d(x, w, b, **geometry),
        y_magnitude,
        rtol,
    )
    fast_grads = cnnref.conv2d_backward(dy, x, w, b, **geometry)
    literal_grads = literal.conv2d_backward(dy, x, w, b, **geometry)
    magnitudes = literal.conv2d_backward(np.abs(dy), np.abs(x), np.abs(w), abs_b, **geometry)
    for name, ours, theirs, magnitude in zip(
        ("dx", "dw", "db"), fast_grads, literal_grads, magnitudes
    ):
        if b is None and name == "db":
            assert ours is None, f"db must be None when b is None; got {ours!r}"
        else:
            assert_matches_literal(name, ours, theirs, magnitude, rtol)


def assert_identical(name: str, ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (
        f"{name}: fast {ours.shape} {ours.dtype} != literal {theirs.shape} {theirs.dtype}"
    )
    same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
    if not same.all():
        at = np.unravel_index(np.argmin(same), same.shape)
        raise AssertionError(f"{name} at {at}: fast {ours[at]!r} != literal {theirs[at]!r}")


def check_pool_against_literal(x: np.ndarray, dy: np.ndarray, geometry: dict) -> None:
    y, y_literal = cnnref.max_pool2d(x, **geometry), literal.max_pool2d(x, **geometry)
    assert_identical("y", y, y_literal)
    assert np.array_equal(np.signbit(y), np.signbit(y_literal)), (
        f"y: signs of zero differ: fast {y[np.signbit(y) != np.signbit(y_literal)]}"
    )
    dx = cnnref.max_pool2d_backward(dy, x, **geometry)
    assert_identical("dx", dx, literal.max_pool2d_backward(dy, x, **geometry))
