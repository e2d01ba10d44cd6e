"""The reference in float16 and bfloat16: inputs exact, sums in float32, one rounding.

That is the convention of cuDNN, oneDNN and Triton's ``tl.dot``, and the one
cnnref judges half-precision candidates by (docs/tolerances.md, "Half
precision").  Every op computes it the same way: its float32 form on the
inputs converted exactly to float32, each result rounded once (to nearest
even) to the inputs' half format.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ..precision import is_half


def through_float32(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function``, taking float16 and bfloat16 arrays as described above."""

    @functools.wraps(function)
    def rounded_once(*args: Any, **kwargs: Any) -> Any:
        arrays = [a for a in (*args, *kwargs.values()) if isinstance(a, np.ndarray)]
        halves = [a.dtype for a in arrays if is_half(a.dtype)]
        if not halves:
            return function(*args, **kwargs)
        common = np.result_type(*(a.dtype for a in arrays))

        def widened(value: Any) -> Any:
            is_half_array = isinstance(value, np.ndarray) and is_half(value.dtype)
            return value.astype(np.float32) if is_half_array else value

        result = function(
            *map(widened, args), **{name: widened(value) for name, value in kwargs.items()}
        )
        if not is_half(common):  # a wider input decides the result's dtype
            return result
        with np.errstate(over="ignore"):  # past the format's largest value, inf is the rounding
            if isinstance(result, tuple):
                return tuple(None if r is None else r.astype(common) for r in result)
            return result.astype(common)

    return rounded_once
