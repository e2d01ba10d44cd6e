"""Argument checks and output-size rules shared by every op.

Each op normalises its arguments here, once, so that an invalid call fails
with a message naming the argument and the rule it broke before any
arithmetic runs.  The same geometry objects serve the Hypothesis strategies,
which build valid geometries by construction.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

Pair = tuple[int, int]
IntOrPair = int | tuple[int, int]

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def as_pair(value: object, name: str, *, minimum: int) -> Pair:
    """Return ``value`` (an int or a pair of ints) as a ``(height, width)`` pair.

    >>> as_pair(2, "stride", minimum=1)
    (2, 2)
    """
    entries = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(entries) != 2 or not all(_is_int(v) for v in entries):
        raise TypeError(f"{name} must be an int or a pair of ints; got {value!r}")
    if min(entries) < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value!r}")
    return int(entries[0]), int(entries[1])


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def as_float_array(value: object, name: str, *, ndim: int, layout: str) -> np.ndarray:
    """View ``value`` as a float32 or float64 array of ``ndim`` dimensions."""
    array = np.asarray(value)
    if array.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"{name} has dtype {array.dtype}; cnnref supports float32 and float64 only")
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


@dataclass(frozen=True)
class ConvGeometry:
    """Stride, padding, dilation and groups of a conv2d call, checked."""

    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1

    @classmethod
    def from_args(
        cls, stride: object = 1, padding: object = 0, dilation: object = 1, groups: object = 1
    ) -> ConvGeometry:
        if not _is_int(groups):
            raise TypeError(f"groups must be an int; got {groups!r}")
        if groups < 1:
            raise ValueError(f"groups must be >= 1; got {groups!r}")
        return cls(
            stride=as_pair(stride, "stride", minimum=1),
            padding=as_pair(padding, "padding", minimum=0),
            dilation=as_pair(dilation, "dilation", minimum=1),
            groups=int(groups),
        )

    def output_shape(self, x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of ``conv2d(x, w)``; raises ValueError if x and w do not fit together."""
        n, c, *spatial = x_shape
        o, c_per_group, *kernel = w_shape
        g = self.groups
        if c % g:
            raise ValueError(f"groups={g} must divide the input channels C={c} (x.shape[1])")
        if o % g:
            raise ValueError(f"groups={g} must divide the output channels O={o} (w.shape[0])")
        if c_per_group != c // g:
            raise ValueError(
                f"w.shape[1]={c_per_group} must equal C/groups = {c}/{g} = {c // g} "
                f"(x has shape {tuple(x_shape)})"
            )
        sizes = []
        for axis, size, k, s, p, d in zip(
            ("height", "width"), spatial, kernel, self.stride, self.padding, self.dilation
        ):
            extent = effective_kernel(k, d)
            if extent > size + 2 * p:
                raise ValueError(
                    f"kernel {axis} {k} with dilation {d} spans {extent}, more than the padded "
                    f"input {axis} {size} + 2*{p} = {size + 2 * p}"
                )
            sizes.append(correlation_output_size(size + 2 * p, k, s, d))
        return (n, o, *sizes)


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
        if not isinstance(ceil_mode, (bool, np.bool_)):
            raise TypeError(f"ceil_mode must be a bool; got {ceil_mode!r}")
        geometry = cls(
            kernel_size=kernel,
            stride=kernel if stride is None else as_pair(stride, "stride", minimum=1),
            padding=as_pair(padding, "padding", minimum=0),
            dilation=as_pair(dilation, "dilation", minimum=1),
            ceil_mode=bool(ceil_mode),
        )
        # PyTorch CPU's rule bounds the padding by the kernel size, not by the
        # dilated extent: padding <= kernel_size // 2 on each axis.
        if any(p > k // 2 for k, p in zip(geometry.kernel_size, geometry.padding)):
            raise ValueError(
                f"padding must be at most half the kernel size (padding <= kernel_size // 2); "
                f"got padding={padding!r} with kernel_size={kernel_size!r}"
            )
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


# The pooling conventions the reference implements, each value PyTorch's first (its default).
POOL_CONVENTIONS: dict[str, tuple[str, ...]] = {
    "ties": ("first", "split"),
    "nan": ("propagate", "ignore"),
    "pad_value": ("-inf", "zeros"),
    "windows": ("partial", "exact"),
}


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


# --- whole calls: what every form of an op (literal or fast) checks first --------------------

_X_LAYOUT = "(N, C, H, W)"
_W_LAYOUT = "(O, C/groups, kh, kw)"


def check_conv2d_call(
    x: object,
    w: object,
    b: object,
    stride: object,
    padding: object,
    dilation: object,
    groups: object,
) -> tuple[ConvGeometry, np.ndarray, np.ndarray, np.ndarray | None]:
    """The checked geometry of a conv2d call, and x, w, b cast to their common dtype."""
    geometry = ConvGeometry.from_args(stride, padding, dilation, groups)
    x, w, b = _conv_operands(x, w, b)
    geometry.output_shape(x.shape, w.shape)  # raises if x and w do not fit together
    return geometry, x, w, b


def check_conv2d_backward_call(
    dy: object,
    x: object,
    w: object,
    b: object,
    stride: object,
    padding: object,
    dilation: object,
    groups: object,
) -> tuple[ConvGeometry, np.ndarray, np.ndarray, np.ndarray]:
    """The checked geometry of a conv2d_backward call, and dy, x, w in their common dtype
    (b's dtype counts too, though only its presence matters to the gradients)."""
    geometry = ConvGeometry.from_args(stride, padding, dilation, groups)
    x, w, b = _conv_operands(x, w, b)
    dy = as_float_array(dy, "dy", ndim=4, layout="(N, O, OH, OW)")
    check_gradient_shape(dy, geometry.output_shape(x.shape, w.shape))
    dtype = common_dtype(dy, x, w, b)
    return geometry, *(a.astype(dtype, copy=False) for a in (dy, x, w))


def _conv_operands(
    x: object, w: object, b: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check dtypes and ranks, and cast x, w and b to their common dtype."""
    x = as_float_array(x, "x", ndim=4, layout=_X_LAYOUT)
    w = as_float_array(w, "w", ndim=4, layout=_W_LAYOUT)
    require_nonempty(x, "x", _X_LAYOUT, batch=True)
    require_nonempty(w, "w", _W_LAYOUT, batch=False)
    if b is not None:
        b = as_float_array(b, "b", ndim=1, layout="(O,)")
        if b.shape[0] != w.shape[0]:
            raise ValueError(
                f"b must have one entry per output channel, shape ({w.shape[0]},); got {b.shape}"
            )
    dtype = common_dtype(x, w, b)
    cast = None if b is None else b.astype(dtype, copy=False)
    return x.astype(dtype, copy=False), w.astype(dtype, copy=False), cast


def check_max_pool2d_call(
    x: object,
    kernel_size: object,
    stride: object,
    padding: object,
    dilation: object,
    ceil_mode: object,
) -> tuple[PoolGeometry, np.ndarray]:
    """The checked geometry of a max_pool2d call, and x."""
    geometry = PoolGeometry.from_args(kernel_size, stride, padding, dilation, ceil_mode)
    x = as_float_array(x, "x", ndim=4, layout=_X_LAYOUT)
    require_nonempty(x, "x", _X_LAYOUT, batch=True)
    return geometry, x


def check_max_pool2d_backward_call(
    dy: object,
    x: object,
    kernel_size: object,
    stride: object,
    padding: object,
    dilation: object,
    ceil_mode: object,
) -> tuple[PoolGeometry, np.ndarray, np.ndarray, np.dtype]:
    """The checked geometry of a max_pool2d_backward call, dy and x (each in its own
    dtype: x decides the routing), and the dtype of dL/dX."""
    geometry, x = check_max_pool2d_call(x, kernel_size, stride, padding, dilation, ceil_mode)
    dy = as_float_array(dy, "dy", ndim=4, layout="(N, C, OH, OW)")
    check_gradient_shape(dy, geometry.output_shape(x.shape))
    return geometry, dy, x, common_dtype(dy, x)
