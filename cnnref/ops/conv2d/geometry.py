"""conv2d's arguments: its geometry, checked, and the whole-call checks both forms run first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arguments import (
    X_LAYOUT,
    ConvolutionGeometry,
    Pair,
    as_bias,
    as_input_and_weight,
    convolution_gradient,
    correlation_output_size,
    effective_kernel,
    in_common_dtype,
    require_bool,
)
from ..calls import public_function

W_LAYOUT = "(O, C/groups, kh, kw)"


@dataclass(frozen=True)
class ConvGeometry(ConvolutionGeometry):
    """Stride, padding, dilation and groups of a conv2d call, checked."""

    dilation: Pair = (1, 1)
    groups: int = 1

    @classmethod
    def from_args(
        cls, stride: object = 1, padding: object = 0, dilation: object = 1, groups: object = 1
    ) -> ConvGeometry:
        return cls.checked(groups, stride=stride, padding=padding, dilation=dilation)

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


def check_conv2d_call(
    x: object, w: object, b: object, **geometry: object
) -> tuple[ConvGeometry, np.ndarray, np.ndarray, np.ndarray | None]:
    """The checked geometry of a conv2d call, and x, w, b cast to their common dtype."""
    checked = ConvGeometry.from_args(**geometry)
    x, w, b = _conv_operands(x, w, b)
    checked.output_shape(x.shape, w.shape)  # raises if x and w do not fit together
    return checked, x, w, b


def check_conv2d_backward_call(
    dy: object, x: object, w: object, b: object, *, need_dx: object, **geometry: object
) -> tuple[ConvGeometry, np.ndarray, np.ndarray, np.ndarray, bool, bool]:
    """The checked geometry of a conv2d_backward call, dy, x, w in their common dtype
    (b's dtype counts too), whether b is given (only its presence matters to the
    gradients), and whether dx is wanted."""
    checked = ConvGeometry.from_args(**geometry)
    x, w, b = _conv_operands(x, w, b)
    dy, x, w = convolution_gradient(dy, x, w, b, "(N, O, OH, OW)", checked.output_shape)
    require_bool(need_dx, "need_dx")
    return checked, dy, x, w, b is not None, bool(need_dx)


# Both forms' public functions: the call read and checked, then the form's arithmetic.
conv2d_call = public_function("conv2d", check_conv2d_call)
conv2d_backward_call = public_function("conv2d_backward", check_conv2d_backward_call, need_dx=True)


def _conv_operands(
    x: object, w: object, b: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check dtypes and ranks, and cast x, w and b to their common dtype."""
    x, w = as_input_and_weight(x, w, X_LAYOUT, W_LAYOUT)
    return in_common_dtype(x, w, as_bias(b, "(O,)", w.shape[0]))
