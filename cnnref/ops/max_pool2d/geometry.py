"""max_pool2d's arguments: its geometry and conventions, checked, and the whole-call checks
both forms run first."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..arguments import (
    Pair,
    as_input,
    as_output_gradient,
    as_pair,
    check_pool_padding,
    common_dtype,
    effective_kernel,
    pool_output_size,
    pool_window,
    require_bool,
)
from ..calls import public_function


@dataclass(frozen=True)
class PoolGeometry:
    """Kernel size, stride, padding, dilation and ceil_mode of a max_pool2d call, checked."""

    kernel_size: Pair
    stride: Pair
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    ceil_mode: bool = False

    @classmethod
    def from_args(
        cls,
        kernel_size: object,
        stride: object = None,
        padding: object = 0,
        dilation: object = 1,
        ceil_mode: object = False,
    ) -> PoolGeometry:
        kernel = as_pair(kernel_size, "kernel_size", minimum=1)
        require_bool(ceil_mode, "ceil_mode")
        geometry = cls(
            **pool_window(kernel, stride, padding),
            dilation=as_pair(dilation, "dilation", minimum=1),
            ceil_mode=bool(ceil_mode),
        )
        check_pool_padding(geometry.kernel_size, geometry.padding, kernel_size, padding)
        return geometry

    def output_shape(self, x_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of ``max_pool2d(x)``; raises ValueError if no window fits."""
        n, c, *spatial = x_shape
        sizes = []
        for axis, size, k, s, p, d in zip(
            ("height", "width"), spatial, self.kernel_size, self.stride, self.padding, self.dilation
        ):
            out = pool_output_size(size, k, s, p, d, self.ceil_mode)
            if out < 1:
                raise ValueError(
                    f"input {axis} {size} is too small for kernel_size={self.kernel_size}, "
                    f"dilation={self.dilation}, padding={self.padding}: no window fits"
                )
            reads_input = self.taps_in_bounds(axis, size, out).any(axis=0)
            if not reads_input.all():
                window = int(np.argmin(reads_input))
                raise ValueError(
                    f"window {window} along the {axis} reads only padding (input {axis} {size}, "
                    f"kernel_size={self.kernel_size}, dilation={self.dilation}, "
                    f"padding={self.padding}): PyTorch leaves such a window undefined; "
                    "use less padding or dilation"
                )
            sizes.append(out)
        return (n, c, *sizes)

    def taps_in_bounds(self, axis: str, size: int, out_size: int) -> np.ndarray:
        """``in_bounds[i, q]``: whether tap i of window q reads an input element, not padding."""
        index = ("height", "width").index(axis)
        k, s, p, d = (
            getattr(self, name)[index] for name in ("kernel_size", "stride", "padding", "dilation")
        )
        padded_position = np.arange(k)[:, None] * d + np.arange(out_size)[None, :] * s
        return (padded_position >= p) & (padded_position < p + size)

    def window_taps(self, out_size: tuple[int, ...]) -> Iterator[tuple[int, slice, slice]]:
        """For each tap (i, j) of the window, in row-major order: its index and the
        slices of the padded input that it reads across all windows."""
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        oh, ow = out_size
        for i, j in np.ndindex(kh, kw):
            rows = slice(i * dh, i * dh + (oh - 1) * sh + 1, sh)
            cols = slice(j * dw, j * dw + (ow - 1) * sw + 1, sw)
            yield i * kw + j, rows, cols

    def window_padding(
        self, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
    ) -> list[tuple[int, int]]:
        """``np.pad`` widths that make every window fit: ``padding`` on each side, and more
        on the far side where ceil_mode lets the last window hang over the padded input."""
        widths = [(0, 0), (0, 0)]
        for size, out, k, s, p, d in zip(
            in_shape[-2:],
            out_shape[-2:],
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
        ):
            last_window_end = (out - 1) * s + effective_kernel(k, d)
            widths.append((p, max(p, last_window_end - size - p)))
        return widths


# The pooling conventions the reference implements, each value PyTorch's first (its default).
POOL_CONVENTIONS: dict[str, tuple[str, ...]] = {
    "ties": ("first", "split"),
    "nan": ("propagate", "ignore", "first"),
    "pad_value": ("-inf", "zeros", "-inf-competes"),
    "windows": ("partial", "exact"),
}


# What the padding holds where a window reads it: None where it is never read (PyTorch's).
PADDING_FILL: dict[str, float | None] = {"-inf": None, "zeros": 0.0, "-inf-competes": -float("inf")}


def check_pool_conventions(geometry: PoolGeometry, x_shape: tuple[int, ...], **chosen: str) -> None:
    """ValueError naming the option unless each is a known value; with ``windows="exact"``,
    also unless the windows cover the padded input exactly (no partial window, nothing left over)."""
    for name, value in chosen.items():
        if value not in POOL_CONVENTIONS[name]:
            raise ValueError(f"{name} must be one of {list(POOL_CONVENTIONS[name])}; got {value!r}")
    if chosen.get("windows") != "exact":
        return
    for axis, size, k, s, p, d in zip(
        ("height", "width"),
        x_shape[-2:],
        geometry.kernel_size,
        geometry.stride,
        geometry.padding,
        geometry.dilation,
    ):
        left_over = (size + 2 * p - effective_kernel(k, d)) % s
        if left_over:
            raise ValueError(
                f"windows='exact': along the {axis}, windows of kernel_size={k}, dilation={d}, "
                f"stride={s} leave {left_over} of the padded {axis} {size + 2 * p} uncovered"
            )


def check_max_pool2d_call(
    x: object, *, nan: str, pad_value: str, windows: str, **geometry: object
) -> tuple[PoolGeometry, np.ndarray, str, str]:
    """The checked geometry of a max_pool2d call, x, and the conventions the forward reads."""
    checked, x = _geometry_and_input(x, geometry)
    check_pool_conventions(checked, x.shape, nan=nan, pad_value=pad_value, windows=windows)
    return checked, x, nan, pad_value


def check_max_pool2d_backward_call(
    dy: object, x: object, *, ties: str, nan: str, pad_value: str, windows: str, **geometry: object
) -> tuple[PoolGeometry, np.ndarray, np.ndarray, str, str, str]:
    """The checked geometry of a max_pool2d_backward call, dy in the dtype of dL/dX (the
    common one), x in its own (x decides the routing), and the conventions the backward reads."""
    checked, x = _geometry_and_input(x, geometry)
    dy = as_output_gradient(dy, "(N, C, OH, OW)", lambda: checked.output_shape(x.shape))
    chosen = {"ties": ties, "nan": nan, "pad_value": pad_value, "windows": windows}
    check_pool_conventions(checked, x.shape, **chosen)
    return checked, dy.astype(common_dtype(dy, x), copy=False), x, ties, nan, pad_value


def _geometry_and_input(x: object, geometry: dict[str, object]) -> tuple[PoolGeometry, np.ndarray]:
    return PoolGeometry.from_args(**geometry), as_input(x)


# Both forms' public functions: the call read and checked, then the form's arithmetic; the
# keyword-only options are the conventions, PyTorch's by default.
max_pool2d_call = public_function(
    "max_pool2d", check_max_pool2d_call, nan="propagate", pad_value="-inf", windows="partial"
)
max_pool2d_backward_call = public_function(
    "max_pool2d_backward",
    check_max_pool2d_backward_call,
    ties="first",
    nan="propagate",
    pad_value="-inf",
    windows="partial",
)
