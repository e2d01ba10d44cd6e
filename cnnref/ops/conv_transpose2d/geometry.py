"""Argument checks and the output-size rule of conv_transpose2d.

PyTorch's rules, each error naming the argument it is about:

* ``w`` is (C_in, C_out/groups, kh, kw): axis 0 matches x's channels and
  ``groups`` divides it; the output has ``C_out = groups * w.shape[1]`` channels;
* ``output_padding`` is smaller than the stride or the dilation, on each axis;
* the output is at least one pixel along each axis::

      OH = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arguments import (
    ConvolutionGeometry,
    Pair,
    as_bias,
    as_input_and_weight,
    convolution_gradient,
    effective_kernel,
    in_common_dtype,
)
from ..calls import public_function

X_LAYOUT = "(N, C_in, H, W)"
W_LAYOUT = "(C_in, C_out/groups, kh, kw)"


@dataclass(frozen=True)
class ConvTransposeGeometry(ConvolutionGeometry):
    """Stride, padding, output_padding, dilation and groups of a conv_transpose2d call, checked."""

    output_padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1

    @classmethod
    def from_args(
        cls,
        stride: object = 1,
        padding: object = 0,
        output_padding: object = 0,
        groups: object = 1,
        dilation: object = 1,
    ) -> ConvTransposeGeometry:
        geometry = cls.checked(
            groups, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
        )
        # PyTorch's rule, per axis: output_padding < stride or output_padding < dilation.
        for axis, op, s, d in zip(
            ("height", "width"), geometry.output_padding, geometry.stride, geometry.dilation
        ):
            if op >= s and op >= d:
                raise ValueError(
                    f"output_padding must be smaller than either stride or dilation; along the "
                    f"{axis} got output_padding={op} with stride={s} and dilation={d}"
                )
        return geometry

    def output_shape(self, x_shape: tuple[int, ...], w_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of ``conv_transpose2d(x, w)``; raises ValueError if x and w do not fit together."""
        n, c_in, *spatial = x_shape
        w_in, out_per_group, *kernel = w_shape
        g = self.groups
        if w_in != c_in:
            raise ValueError(
                f"w.shape[0]={w_in} must equal the input channels C_in={c_in} (x.shape[1]); "
                f"w is laid out {W_LAYOUT}"
            )
        if c_in % g:
            raise ValueError(f"groups={g} must divide the input channels C_in={c_in} (x.shape[1])")
        sizes = []
        for axis, size, k, s, p, op, d in zip(
            ("height", "width"),
            spatial,
            kernel,
            self.stride,
            self.padding,
            self.output_padding,
            self.dilation,
        ):
            out = transposed_output_size(size, k, s, p, op, d)
            if out < 1:
                raise ValueError(
                    f"padding={p} leaves no output {axis}: (size - 1)*stride - 2*padding + "
                    f"dilation*(kernel - 1) + output_padding + 1 = ({size} - 1)*{s} - 2*{p} + "
                    f"{d}*({k} - 1) + {op} + 1 = {out}, and must be at least 1"
                )
            sizes.append(out)
        return (n, g * out_per_group, *sizes)


def transposed_output_size(
    size: int, kernel: int, stride: int, padding: int, output_padding: int, dilation: int
) -> int:
    """Output length of a transposed convolution along an axis of ``size``."""
    return (size - 1) * stride - 2 * padding + effective_kernel(kernel, dilation) + output_padding


def check_conv_transpose2d_call(
    x: object, w: object, b: object, **geometry: object
) -> tuple[ConvTransposeGeometry, np.ndarray, np.ndarray, np.ndarray | None]:
    """The checked geometry of a conv_transpose2d call, and x, w, b cast to their common dtype."""
    checked = ConvTransposeGeometry.from_args(**geometry)
    x, w, b = _operands(x, w, b, checked.groups)
    checked.output_shape(x.shape, w.shape)  # raises if x and w do not fit together
    return checked, x, w, b


def check_conv_transpose2d_backward_call(
    dy: object, x: object, w: object, b: object, **geometry: object
) -> tuple[ConvTransposeGeometry, np.ndarray, np.ndarray, np.ndarray, bool]:
    """The checked geometry of a conv_transpose2d_backward call, dy, x, w in their common
    dtype (b's dtype counts too), and whether b is given (only its presence matters to the
    gradients)."""
    checked = ConvTransposeGeometry.from_args(**geometry)
    x, w, b = _operands(x, w, b, checked.groups)
    dy, x, w = convolution_gradient(dy, x, w, b, "(N, C_out, OH, OW)", checked.output_shape)
    return checked, dy, x, w, b is not None


# Both forms' public functions: the call read and checked, then the form's arithmetic.
conv_transpose2d_call = public_function("conv_transpose2d", check_conv_transpose2d_call)
conv_transpose2d_backward_call = public_function(
    "conv_transpose2d_backward", check_conv_transpose2d_backward_call
)


def _operands(
    x: object, w: object, b: object, groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check dtypes, ranks and b's length, and cast x, w and b to their common dtype."""
    x, w = as_input_and_weight(x, w, X_LAYOUT, W_LAYOUT)
    bias = as_bias(b, "(C_out,)", groups * w.shape[1], " = groups*w.shape[1]")
    return in_common_dtype(x, w, bias)
