"""Argument checks and size rules that every op shares.

Each op normalises its arguments once, with these, so that an invalid call
fails with a message naming the argument and the rule it broke before any
arithmetic runs.  The op's own checks are in its folder (``ops/<op>/geometry.py``).
"""

from __future__ import annotations

import numbers
from typing import TypeGuard

import numpy as np

Pair = tuple[int, int]
IntOrPair = int | tuple[int, int]

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
X_LAYOUT = "(N, C, H, W)"


def as_pair(value: object, name: str, *, minimum: int) -> Pair:
    """Return ``value`` (an int or a pair of ints) as a ``(height, width)`` pair.

    >>> as_pair(2, "stride", minimum=1)
    (2, 2)
    """
    entries = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(entries) != 2 or not all(is_int(v) for v in entries):
        raise TypeError(f"{name} must be an int or a pair of ints; got {value!r}")
    if min(entries) < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return int(entries[0]), int(entries[1])


def is_int(value: object) -> TypeGuard[numbers.Integral]:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def as_float_array(value: object, name: str, *, ndim: int, layout: str) -> np.ndarray:
    """View ``value`` as a float32 or float64 array of ``ndim`` dimensions."""
    array = np.asarray(value)
    if array.dtype not in SUPPORTED_DTYPES:
        raise TypeError(
            f"{name} has dtype {array.dtype}; cnnref supports float64, float32, float16 and bfloat16 only"
        )
    if array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array {layout}; got shape {array.shape}")
    return array


def require_nonempty(array: np.ndarray, name: str, layout: str, *, batch: bool) -> None:
    """Only a batch (axis 0 of an input) may be empty, as in PyTorch."""
    sizes = array.shape[1:] if batch else array.shape
    if 0 in sizes:
        where = "any axis but N" if batch else "any axis"
        raise ValueError(
            f"{name} {layout} must not be empty along {where}; got shape {array.shape}"
        )


def common_dtype(*arrays: np.ndarray | None) -> np.dtype:
    """The dtype results are computed and returned in: ``np.result_type`` of the inputs."""
    return np.result_type(*(a for a in arrays if a is not None))


def effective_kernel(size: int, dilation: int) -> int:
    """Extent of a dilated kernel: its taps sit ``dilation`` apart."""
    return dilation * (size - 1) + 1


def correlation_output_size(size: int, kernel: int, stride: int, dilation: int) -> int:
    """Positions a dilated kernel takes, ``stride`` apart, along an axis of ``size``
    (padding already included): the output length of a valid correlation."""
    return (size - effective_kernel(kernel, dilation)) // stride + 1


def check_gradient_shape(dy: np.ndarray, expected: tuple[int, ...]) -> None:
    if dy.shape != tuple(expected):
        raise ValueError(
            f"dy must have the shape of the forward output {tuple(expected)}; got {dy.shape}"
        )


def pool_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, ceil_mode: bool
) -> int:
    """PyTorch's pooling output size, ceil_mode rule included."""
    span = size + 2 * padding - effective_kernel(kernel, dilation)
    rounding = stride - 1 if ceil_mode else 0
    out = (span + rounding) // stride + 1  # floor division, as PyTorch's div_rtn
    # In ceil mode the last window must start inside the input or its left padding.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out
