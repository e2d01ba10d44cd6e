"""Half precision: kernels that sum in float32 and round once (cnnref must pass them), and the
low-precision bugs it must catch by name.  Each is a ``--impl`` target:
``tests.candidates.half_precision:<name>``.

Every bug is wrong in float16 or bfloat16 only; its float64 and float32 paths are cnnref's
reference, so a run fails where, and only where, the half format is handled wrongly.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from cnnref import reference
from cnnref.precision import BFLOAT16, is_half

from .student import build

# name -> (the function it breaks, what the bug is)
BUGS = {
    "half_accumulation": (
        "conv2d",
        "conv2d adds each input channel's and tap's contribution to a float16/bfloat16 sum",
    ),
    "bfloat16_truncation": (
        "conv2d",
        "conv2d rounds its float32 sums to bfloat16 by dropping the low bits (toward zero)",
    ),
    "avg_pool_sum_overflow": (
        "avg_pool2d",
        "avg_pool2d sums the window in float16 before it divides: the sum overflows to inf",
    ),
    "dw_half_over_batch": (
        "conv2d_backward",
        "dL/dW is summed over the batch in float16/bfloat16, one batch item at a time",
    ),
    "float32_output": ("conv2d", "conv2d returns its float32 sums for float16 inputs"),
    "half_ties_last": (
        "max_pool2d_backward",
        "in float16/bfloat16 max pool backward routes a tie to the last maximum",
    ),
}

FUNCTIONS = (
    "conv2d",
    "conv2d_backward",
    "max_pool2d",
    "max_pool2d_backward",
    "avg_pool2d",
    "avg_pool2d_backward",
)


def _from_reference(form=reference.fast, **replaced) -> SimpleNamespace:
    """cnnref's own functions (``form``), with some replaced."""
    return SimpleNamespace(**{name: getattr(form, name) for name in FUNCTIONS} | replaced)


def _in_half(name: str):
    """The reference's ``name``, but the decorated (wrong) function for half-format x."""

    def decorate(wrong):
        def function(*args, **kwargs):
            x = args[1] if name.endswith("_backward") else args[0]
            if is_half(x.dtype):
                return wrong(*args, **kwargs)
            return getattr(reference, name)(*args, **kwargs)

        return function

    return decorate


def _f32(*arrays):
    return [None if a is None else np.asarray(a, np.float32) for a in arrays]


# ---------------------------------------------------------------- correct kernels

# An im2col GEMM whose sums run in float32 (BLAS sgemm), rounded once: the reference.
im2col_float32 = _from_reference()
# A direct loop over every output and every term, summed in float32, rounded once.
direct_loop = _from_reference(reference.literal)


def _torch_cpu() -> SimpleNamespace:
    import torch.nn.functional as F

    from cnnref.adapters import torch_forward

    # PyTorch CPU's float16 backward adds partial sums in float16 (slow_conv2d's col2im and
    # its loop over the batch; max pool's scatter of dy): it declares so, and "subnormal" too,
    # since partial sums among the subnormals round by more than that bound covers.
    return torch_forward(
        conv2d=F.conv2d,
        max_pool2d=F.max_pool2d,
        unsupported={"subnormal"},
        conventions={"accumulation": "half"},
    )


def __getattr__(name: str):
    if name == "torch_cpu":  # built on first use: importing torch is slow
        return _torch_cpu()
    raise AttributeError(name)


# ---------------------------------------------------------------- bugs


@_in_half("conv2d")
def _half_accumulation(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """half_accumulation: one input channel and tap at a time, each sum rounded to x's format."""
    y = np.zeros(reference.conv2d(x, w, None, stride, padding, dilation, groups).shape, x.dtype)
    if b is not None:
        y += b.astype(x.dtype)[:, None, None]
    kh, kw = w.shape[-2:]
    for c in range(w.shape[1]):
        for i in range(kh):
            for j in range(kw):
                tap = np.zeros_like(w)
                tap[:, c, i, j] = w[:, c, i, j]
                term = reference.conv2d(*_f32(x, tap), None, stride, padding, dilation, groups)
                with np.errstate(over="ignore"):  # past the format's range: inf, as rounded
                    y = (y.astype(np.float32) + term).astype(x.dtype)  # BUG: rounded every step
    return y


half_accumulation = _from_reference(conv2d=_half_accumulation)


def _truncated(y32: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(y32, np.float32).view(np.uint32) & np.uint32(0xFFFF0000)
    return bits.view(np.float32).astype(BFLOAT16)  # exact: the low bits are already zero


@_in_half("conv2d")
def _bfloat16_truncation(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """bfloat16_truncation: the float32 sums' low 16 bits dropped."""
    y32 = reference.conv2d(*_f32(x, w, b), stride, padding, dilation, groups)
    if x.dtype != BFLOAT16:
        return y32.astype(x.dtype)
    return _truncated(y32)  # BUG: round to nearest even would add 0x7FFF + the lowest kept bit


bfloat16_truncation = _from_reference(conv2d=_bfloat16_truncation)


@_in_half("conv2d")
def _float32_output(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """float32_output: float16 in, float32 out."""
    return reference.conv2d(*_f32(x, w, b), stride, padding, dilation, groups)  # BUG: no cast


float32_output = _from_reference(conv2d=_float32_output)


@_in_half("avg_pool2d")
def _avg_pool_sum_overflow(x, kernel_size, stride=None, padding=0, **options):
    """avg_pool_sum_overflow: the window's sum is rounded to x's format before the division."""
    y32 = reference.avg_pool2d(*_f32(x), kernel_size, stride, padding, **options)
    taps = np.prod(kernel_size) if np.ndim(kernel_size) else kernel_size**2
    with np.errstate(over="ignore"):
        window_sum = (y32 * np.float32(taps)).astype(x.dtype)  # BUG: inf past 65504
    return np.where(np.isinf(window_sum), window_sum, y32.astype(x.dtype))


avg_pool_sum_overflow = _from_reference(avg_pool2d=_avg_pool_sum_overflow)


@_in_half("conv2d_backward")
def _dw_half_over_batch(dy, x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """dw_half_over_batch: each item's dW in float32, their sum in x's format."""
    dx, _, db = reference.conv2d_backward(dy, x, w, b, stride, padding, dilation, groups)
    dw = np.zeros(w.shape, x.dtype)
    for n in range(x.shape[0]):
        item = reference.conv2d_backward(
            *_f32(dy[n : n + 1], x[n : n + 1], w), None, stride, padding, dilation, groups
        )[1]
        with np.errstate(over="ignore"):
            dw = (dw.astype(np.float32) + item).astype(x.dtype)  # BUG: rounded per batch item
    return dx, dw, db


dw_half_over_batch = _from_reference(conv2d_backward=_dw_half_over_batch)


_ties_last = build("ties_last")


@_in_half("max_pool2d_backward")
def _half_ties_last(dy, x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """half_ties_last: the half path compares with >=, so a tie goes to the last maximum."""
    dx = _ties_last.max_pool2d_backward(
        *_f32(dy, x), kernel_size, stride, padding, dilation, ceil_mode
    )
    return dx.astype(x.dtype)


half_ties_last = _from_reference(max_pool2d_backward=_half_ties_last)
