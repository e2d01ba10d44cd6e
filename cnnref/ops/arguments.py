"""Argument checks and size rules that every op shares.

Each op normalises its arguments once, with these, so that an invalid call
fails with a message naming the argument and the rule it broke before any
arithmetic runs.  The op's own checks are in its folder (``ops/<op>/geometry.py``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeGuard, TypeVar

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


def require_bool(value: object, name: str) -> None:
    """A flag (ceil_mode, need_dx, ...) must be a bool, Python's or NumPy's."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool; got {value!r}")


def as_groups(groups: object) -> int:
    """``groups`` of a convolution: an int, at least 1."""
    if not is_int(groups):
        raise TypeError(f"groups must be an int; got {groups!r}")
    if groups < 1:
        raise ValueError(f"groups must be >= 1; got {groups!r}")
    return int(groups)


# Each pair argument's least value.
PAIR_MINIMUMS = {"kernel_size": 1, "stride": 1, "padding": 0, "output_padding": 0, "dilation": 1}


def as_pairs(**given: object) -> dict[str, Pair]:
    """Each of ``given``, an int or a pair, as a pair, checked in the order given."""
    return {
        name: as_pair(value, name, minimum=PAIR_MINIMUMS[name]) for name, value in given.items()
    }


def as_input(x: object, layout: str = X_LAYOUT) -> np.ndarray:
    """``x`` of an op, a float array of 4 dimensions, empty at most along the batch."""
    array = as_float_array(x, "x", ndim=4, layout=layout)
    require_nonempty(array, "x", layout, batch=True)
    return array


def as_output_gradient(
    dy: object, layout: str, forward_shape: Callable[[], tuple[int, ...]]
) -> np.ndarray:
    """``dy`` of a backward: a float array of 4 dimensions, then of the forward output's
    shape, ``forward_shape()`` (which raises where the geometry gives no output)."""
    array = as_float_array(dy, "dy", ndim=4, layout=layout)
    check_gradient_shape(array, forward_shape())
    return array


def pool_window(kernel: Pair, stride: object, padding: object) -> dict[str, Pair]:
    """A pool's window as pairs: ``kernel`` (checked already), the stride (None: the kernel
    size) and the padding, checked in that order."""
    return {
        "kernel_size": kernel,
        "stride": kernel if stride is None else as_pair(stride, "stride", minimum=1),
        "padding": as_pair(padding, "padding", minimum=0),
    }


def check_pool_padding(
    kernel_size: Pair, padding: Pair, given_kernel_size: object, given_padding: object
) -> None:
    """PyTorch CPU's pooling rule: padding <= kernel_size // 2 on each axis (the kernel size,
    not the dilated extent).  The message quotes the arguments as given."""
    if any(p > k // 2 for k, p in zip(kernel_size, padding)):
        raise ValueError(
            f"padding must be at most half the kernel size (padding <= kernel_size // 2); "
            f"got padding={given_padding!r} with kernel_size={given_kernel_size!r}"
        )


def as_input_and_weight(
    x: object, w: object, x_layout: str, w_layout: str
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``w`` of a convolution, float arrays of 4 dimensions; only x's batch may be
    empty.  (Both dtypes and ranks are checked before either array's sizes.)"""
    x_array = as_float_array(x, "x", ndim=4, layout=x_layout)
    w_array = as_float_array(w, "w", ndim=4, layout=w_layout)
    require_nonempty(x_array, "x", x_layout, batch=True)
    require_nonempty(w_array, "w", w_layout, batch=False)
    return x_array, w_array


@dataclass(frozen=True)
class ConvolutionGeometry:
    """The arguments both convolutions' geometries begin with, checked: stride and padding.
    Each op's geometry adds its own, ``groups`` among them."""

    stride: Pair = (1, 1)
    padding: Pair = (0, 0)

    @classmethod
    def checked(cls: type[SomeGeometry], groups: object, **pairs: object) -> SomeGeometry:
        """The geometry of ``groups`` and the pair arguments ``pairs``, checked: groups first,
        then each pair in the order given."""
        checked_groups = as_groups(groups)
        return cls(**as_pairs(**pairs), groups=checked_groups)  # type: ignore[call-arg]


SomeGeometry = TypeVar("SomeGeometry", bound=ConvolutionGeometry)


def as_bias(b: object, layout: str, out_channels: int, counted: str = "") -> np.ndarray | None:
    """A convolution's optional bias: None, or a float vector of one entry per output channel
    (``out_channels``; ``counted`` says how that number is read off w, where it is not w's
    first axis)."""
    if b is None:
        return None
    bias = as_float_array(b, "b", ndim=1, layout=layout)
    if bias.shape[0] != out_channels:
        raise ValueError(
            f"b must have one entry per output channel, shape ({out_channels},){counted}; "
            f"got {bias.shape}"
        )
    return bias


def in_common_dtype(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """x, w and b (None stays None) cast to their common dtype."""
    dtype = common_dtype(x, w, b)
    cast = None if b is None else b.astype(dtype, copy=False)
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), cast


def convolution_gradient(
    dy: object,
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None,
    layout: str,
    output_shape: Callable[[tuple[int, ...], tuple[int, ...]], tuple[int, ...]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``dy`` of a convolution's backward, of the shape ``output_shape(x.shape, w.shape)``,
    and dy, x and w in their common dtype (b's dtype counts too)."""
    shapes = (x.shape, w.shape)
    dy_array = as_output_gradient(dy, layout, lambda: output_shape(*shapes))
    dtype = common_dtype(dy_array, x, w, b)
    return (
        dy_array.astype(dtype, copy=False),
        x.astype(dtype, copy=False),
        w.astype(dtype, copy=False),
    )
