"""The floating-point formats cnnref draws, and what rounding to each of them can do.

float64 and float32 are NumPy's own; float16 is NumPy's IEEE binary16; bfloat16
(8 exponent bits, 8 significand bits) comes from ``ml_dtypes``, the package JAX
uses, which registers it with NumPy (``np.dtype("bfloat16")`` works once it is
imported).  The half formats are judged as results that were accumulated in
float32 and rounded once to their own format (docs/tolerances.md, "Half
precision"): this module gives that rounding's size.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import ml_dtypes
import numpy as np

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
# Every dtype the strategies draw, widest first; float64 is the default of a pinned run.
DTYPES = ("float64", "float32", "float16", "bfloat16")
HALF_DTYPES = ("float16", "bfloat16")


def is_half(dtype: np.dtype | str) -> bool:
    """Whether ``dtype`` is one of the 16-bit formats (judged as float32-accumulated)."""
    return np.dtype(dtype).name in HALF_DTYPES


def finfo(dtype: np.dtype | str):
    """``np.finfo`` for any of the four formats (NumPy's finfo does not know bfloat16)."""
    return ml_dtypes.finfo(np.dtype(dtype))


def unit_roundoff(dtype: np.dtype | str) -> float:
    """u = 2**-p for a format with p significand bits: half its machine epsilon."""
    return float(finfo(dtype).eps) / 2


def accumulation_dtype(dtype: np.dtype | str) -> np.dtype:
    """The format a correct kernel sums in: float32 for the half formats, else ``dtype`` itself."""
    return np.dtype(np.float32) if is_half(dtype) else np.dtype(dtype)


def half_ulp(magnitude: np.ndarray, dtype: np.dtype | str) -> np.ndarray:
    """Half a unit in the last place of ``dtype`` at each ``magnitude`` (>= 0, float64).

    The most that rounding a value of that magnitude to ``dtype`` (to nearest)
    can move it: 2**(e - p) for a value in [2**e, 2**(e+1)), and half the
    smallest subnormal below the smallest normal.  Above the largest finite
    value it is that of the largest binade (overflow is handled by the caller).
    """
    info = finfo(dtype)
    digits = int(info.nmant) + 1  # p, the significand's bits, the implicit one included
    smallest_exponent = int(np.log2(float(info.smallest_normal)))
    largest_exponent = int(np.floor(np.log2(float(info.max))))
    magnitude = np.asarray(magnitude, dtype=np.float64)
    # 0 (and anything below the smallest normal) lies in the subnormal binade.
    tiny = float(info.smallest_normal)
    exponent = np.floor(np.log2(np.where(magnitude > tiny, magnitude, tiny)))
    exponent = np.clip(exponent, smallest_exponent, largest_exponent)
    return np.ldexp(1.0, (exponent - digits).astype(int))


def overflow_threshold(dtype: np.dtype | str) -> float:
    """The smallest magnitude that rounds to infinity in ``dtype``: max + half an ulp at max."""
    largest = float(finfo(dtype).max)
    return largest + float(half_ulp(np.array(largest), dtype))


# How the candidate being judged sums a half-format result: "float32" (one rounding, the
# default) or "half" (partial sums rounded as they are added), as it declares in
# CNNREF_CONVENTIONS (cnnref.declarations); the verifier sets it around each check.
ACCUMULATION: ContextVar[str] = ContextVar("accumulation", default="float32")


@contextlib.contextmanager
def accumulating(convention: str) -> Iterator[None]:
    """Judge half-format sums by ``convention`` ("float32" or "half") within the block."""
    token = ACCUMULATION.set(convention)
    try:
        yield
    finally:
        ACCUMULATION.reset(token)


def half_sum_rtol(dtype: np.dtype | str, terms: int) -> float:
    """gamma_K = K u / (1 - K u) for a sum of K terms rounded in ``dtype`` as it goes
    (Higham, 2nd ed., section 3.1); no bound at all (inf) once K u reaches 1."""
    ku = terms * unit_roundoff(dtype)
    return ku / (1 - ku) if ku < 1 else float("inf")


# The reference's own half-precision path, and any float32 kernel's: inputs exact, sums in
# float32, each result rounded once (to nearest even) to the inputs' half format; the
# convention of cuDNN, oneDNN and Triton's tl.dot (docs/tolerances.md, "Half precision").
def through_float32(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` (a float32 kernel), taking float16 and bfloat16 arrays that way."""

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
            if isinstance(result, tuple):  # indices (adaptive_max_pool2d's) stay integers
                return tuple(
                    r if r is None or r.dtype.kind != "f" else r.astype(common) for r in result
                )
            return result.astype(common)

    return rounded_once
