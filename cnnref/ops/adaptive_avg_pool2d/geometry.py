"""Argument checks of an adaptive pooling call (adaptive_avg_pool2d, adaptive_max_pool2d),
PyTorch CPU's rules.

Both forms of both adaptive pools call these first, so an invalid call fails
with one message naming the argument and the rule it broke before any
arithmetic runs.  Where each window starts and ends is left to each form:
the forms are independent derivations of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..arguments import as_input, as_output_gradient, is_int, require_nonempty
from ..calls import public_function

_DY_LAYOUT = "(N, C, OH, OW)"
OutputSize = tuple[int | None, int | None]


@dataclass(frozen=True)
class AdaptiveGeometry:
    """The output size of an adaptive pooling call, checked: a None side keeps the input's."""

    output_size: OutputSize

    @classmethod
    def from_args(cls, output_size: object) -> AdaptiveGeometry:
        """PyTorch's forms: an int (both sides), or a pair (tuple or list) of ints or None."""
        if isinstance(output_size, (tuple, list)):
            entries = tuple(output_size)
        else:  # None alone is refused, as PyTorch does: only an entry of a pair may be None
            entries = (output_size, output_size) if is_int(output_size) else ()
        if len(entries) != 2 or not all(v is None or is_int(v) for v in entries):
            raise TypeError(
                "output_size must be an int or a pair of ints or None (None keeps the input's "
                f"size); got {output_size!r}"
            )
        if any(v is not None and v < 0 for v in entries):
            raise ValueError(f"output_size must be >= 0; got {output_size!r}")
        height, width = (None if v is None else int(v) for v in entries)
        return cls(output_size=(height, width))

    def output_shape(self, x_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of the pooled x: ``(N, C, OH, OW)``."""
        n, c, *spatial = x_shape
        sizes = (size if out is None else out for size, out in zip(spatial, self.output_size))
        return (n, c, *sizes)


def check_adaptive_call(x: object, output_size: object) -> tuple[AdaptiveGeometry, np.ndarray]:
    """The checked geometry of an adaptive pooling call, and x as a float array."""
    return AdaptiveGeometry.from_args(output_size), as_input(x)


def check_adaptive_backward_call(
    dy: object, x: object, output_size: object
) -> tuple[AdaptiveGeometry, np.ndarray, np.ndarray]:
    """The checked geometry of an adaptive pooling backward call, and dy and x (each in its
    own dtype; dL/dX is in their common one)."""
    geometry, x = check_adaptive_call(x, output_size)
    dy = as_output_gradient(dy, _DY_LAYOUT, lambda: geometry.output_shape(x.shape))
    require_nonempty(dy, "dy", _DY_LAYOUT, batch=True)  # PyTorch's backward takes no empty side
    return geometry, dy, x


# Both forms' public functions: the call read and checked, then the form's arithmetic.
adaptive_avg_pool2d_call = public_function("adaptive_avg_pool2d", check_adaptive_call)
adaptive_avg_pool2d_backward_call = public_function(
    "adaptive_avg_pool2d_backward", check_adaptive_backward_call
)
