"""Checks of the fast path against the literal form, shared by tests/ and properties/.

Conv results must agree to rounding: within ``rtol`` times the same sums
over absolute values (each op's scales.py), which bounds the rounding
error of any summation order.  Pooling selects rather than sums, so its
results must agree exactly, bit for bit: values (the sign of zero and which
NaN, sign and payload, included), routing, and dtypes.
"""

from __future__ import annotations

import numpy as np

import cnnref
from cnnref.checks.compare import assert_close
from cnnref.ops.conv2d.scales import conv2d_backward_scales, conv2d_scale
from cnnref.reference import literal


def assert_matches_literal(name: str, fast, expected, scale, rtol: float) -> None:
    assert (fast.shape, fast.dtype) == (expected.shape, expected.dtype), (
        f"{name}: fast {fast.shape} {fast.dtype} != literal {expected.shape} {expected.dtype}"
    )
    assert_close(fast, expected, scale=scale, rtol=rtol, name=name)


def check_conv_against_literal(x, w, b, dy, geometry: dict, rtol: float) -> None:
    assert_matches_literal(
        "y",
        cnnref.conv2d(x, w, b, **geometry),
        literal.conv2d(x, w, b, **geometry),
        conv2d_scale(x, w, b, **geometry),
        rtol,
    )
    fast_grads = cnnref.conv2d_backward(dy, x, w, b, **geometry)
    literal_grads = literal.conv2d_backward(dy, x, w, b, **geometry)
    scales = conv2d_backward_scales(dy, x, w, b, **geometry)
    for name, ours, theirs, scale in zip(("dx", "dw", "db"), fast_grads, literal_grads, scales):
        if b is None and name == "db":
            assert ours is None, f"db must be None when b is None; got {ours!r}"
        else:
            assert_matches_literal(name, ours, theirs, scale, rtol)


def check_pool_against_literal(
    x: np.ndarray, dy: np.ndarray, geometry: dict, **conventions: str
) -> None:
    """``conventions``: the reference's keyword options (ties, nan, pad_value, windows)."""
    forward = {name: value for name, value in conventions.items() if name != "ties"}
    y = cnnref.max_pool2d(x, **geometry, **forward)
    y_literal = literal.max_pool2d(x, **geometry, **forward)
    assert_matches_literal("y", y, y_literal, scale=0.0, rtol=0.0)
    assert_same_bits("y", y, y_literal)
    dx = cnnref.max_pool2d_backward(dy, x, **geometry, **conventions)
    dx_literal = literal.max_pool2d_backward(dy, x, **geometry, **conventions)
    assert_matches_literal("dx", dx, dx_literal, scale=0.0, rtol=0.0)
    assert_same_bits("dx", dx, dx_literal)


def assert_same_bits(name: str, fast: np.ndarray, expected: np.ndarray) -> None:
    """Equal values can still differ in the sign of a zero or in which NaN they are."""
    bits = np.dtype(f"u{fast.itemsize}")
    differ = fast.view(bits) != expected.view(bits)
    assert not differ.any(), (
        f"{name}: {differ.sum()} equal values differ in their bits (the sign of a zero, or "
        f"which NaN): fast {fast[differ][:5].view(bits)}, literal {expected[differ][:5].view(bits)}"
    )
