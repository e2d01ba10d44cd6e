"""Argument checks of an avg_pool2d call, PyTorch CPU's rules.

Both forms of the op (literal.py, fast.py) call these first, so an invalid
call fails with one message naming the argument and the rule it broke before
any arithmetic runs.  The divisor of each window is left to each form: the
forms are independent derivations of it.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from ..arguments import (
    Pair,
    as_input,
    as_output_gradient,
    as_pair,
    check_pool_padding,
    common_dtype,
    pool_output_size,
    pool_window,
    require_bool,
)
from ..calls import public_function

_DY_LAYOUT = "(N, C, OH, OW)"


@dataclass(frozen=True)
class AvgPoolGeometry:
    """Kernel size, stride, padding and the divisor rules of an avg_pool2d call, checked."""

    kernel_size: Pair
    stride: Pair
    padding: Pair = (0, 0)
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: int | None = None

    @classmethod
    def from_args(
        cls,
        kernel_size: object,
        stride: object = None,
        padding: object = 0,
        ceil_mode: object = False,
        count_include_pad: object = True,
        divisor_override: object = None,
    ) -> AvgPoolGeometry:
        kernel = as_pair(kernel_size, "kernel_size", minimum=1)
        require_bool(ceil_mode, "ceil_mode")
        require_bool(count_include_pad, "count_include_pad")
        if divisor_override is not None:
            if not isinstance(divisor_override, numbers.Integral) or isinstance(
                divisor_override, (bool, np.bool_)
            ):
                raise TypeError(
                    f"divisor_override must be None or an int; got {divisor_override!r}"
                )
            if divisor_override == 0:
                raise ValueError("divisor_override must be nonzero (or None); got 0")
        geometry = cls(
            **pool_window(kernel, stride, padding),
            ceil_mode=bool(ceil_mode),
            count_include_pad=bool(count_include_pad),
            divisor_override=None if divisor_override is None else int(divisor_override),
        )
        # So that every window reads at least one input element.
        check_pool_padding(geometry.kernel_size, geometry.padding, kernel_size, padding)
        return geometry

    def output_shape(self, x_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of ``avg_pool2d(x)``; raises ValueError if no window fits."""
        n, c, *spatial = x_shape
        sizes = []
        for axis, size, k, s, p in zip(
            ("height", "width"), spatial, self.kernel_size, self.stride, self.padding
        ):
            out = pool_output_size(size, k, s, p, 1, self.ceil_mode)
            if out < 1:
                raise ValueError(
                    f"input {axis} {size} is too small for kernel_size={self.kernel_size}, "
                    f"padding={self.padding}: no window fits"
                )
            sizes.append(out)
        return (n, c, *sizes)


def check_avg_pool2d_call(x: object, **geometry: object) -> tuple[AvgPoolGeometry, np.ndarray]:
    """The checked geometry of an avg_pool2d call, and x as a float array."""
    checked = AvgPoolGeometry.from_args(**geometry)
    x = as_input(x)
    checked.output_shape(x.shape)  # raises if no window fits
    return checked, x


def check_avg_pool2d_backward_call(
    dy: object, x: object, **geometry: object
) -> tuple[AvgPoolGeometry, np.ndarray, np.ndarray]:
    """The checked geometry of an avg_pool2d_backward call, and dy and x in their common
    dtype (that of dL/dX).  Only x's shape matters to the gradient."""
    checked, x = check_avg_pool2d_call(x, **geometry)
    dy = as_output_gradient(dy, _DY_LAYOUT, lambda: checked.output_shape(x.shape))
    dtype = common_dtype(dy, x)
    return checked, dy.astype(dtype, copy=False), x.astype(dtype, copy=False)


# Both forms' public functions: the call read and checked, then the form's arithmetic.
avg_pool2d_call = public_function("avg_pool2d", check_avg_pool2d_call)
avg_pool2d_backward_call = public_function("avg_pool2d_backward", check_avg_pool2d_backward_call)
