"""What a vector exercises: feature names computed from a case's geometry and values.

The corpus labels every case with the features found here, from the arrays
it actually holds, so a label never claims what a case does not contain
(an "all -inf window" case holds such a window, whatever its seed).

Any op's case gets the features of the fields it has (a case without
``groups`` never has "groups"), so an op added to the registry is labelled
without an edit here.  The window features (overlapping or unread inputs,
windows over padding only, ceil_mode's last window) need an op whose output
element (p, q) reads input rows ``p*stride + i*dilation - padding``: the ops in
``WINDOWED``; the others are not labelled with them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops.arguments import effective_kernel, pool_output_size
from ..strategies.cases import Case, magnitude
from .expected import op_of

FEATURES: dict[str, str] = {
    "float64": "float64 inputs",
    "float32": "float32 inputs",
    "float16": "float16 inputs (IEEE binary16; expected outputs assume float32 sums)",
    "bfloat16": "bfloat16 inputs (stored as their uint16 bits; expected outputs assume float32 sums)",
    "near_overflow": "float16 inputs just below its overflow (65504): sums of a few overflow",
    "subnormal": "float16 inputs among its subnormals",
    "batch": "more than one image (N > 1)",
    "channels": "more than one channel",
    "large_batch": "more than 32 images",
    "many_channels": "more than 16 channels",
    "large_image": "a side longer than 40",
    "non_square_input": "height != width",
    "non_square_geometry": "different height and width in kernel_size, stride, padding or dilation",
    "stride": "an explicit stride other than 1",
    "stride_none": "a pool with stride=None (the stride is the kernel size)",
    "padding": "padding other than 0",
    "dilation": "dilation other than 1",
    "groups": "groups > 1",
    "depthwise": "groups equal to the input channels",
    "bias": "a bias b",
    "no_bias": "b=None (the backward returns db=None)",
    "overlapping_windows": "stride below the dilated kernel: one input element feeds several outputs",
    "unused_input": "the stride skips the last rows or columns: their gradient is zero",
    "padding_only_window": "a conv2d output whose window reads only padding (it equals the bias)",
    "ceil_mode": "a pool with ceil_mode=True",
    "ceil_mode_extra_window": "ceil_mode adds a last window that hangs over the input's end",
    "ceil_mode_last_window_rule": (
        "ceil_mode's rounding would add a window starting in the right padding; "
        "the last window must start inside the input or the left padding, so it is dropped"
    ),
    "ties": "a pool window whose maximum occurs more than once (the first one wins)",
    "nan": "a pool window holding NaN (NaN wins: the output is NaN)",
    "nan_twice": "a pool window holding two or more NaN (the gradient goes to the last)",
    "neginf": "a pool window holding -inf",
    "all_neginf_window": "a pool window of -inf only (it routes to its first in-bounds element)",
    "all_neginf_window_padded": (
        "an all -inf pool window whose first tap is padding: it routes to its first "
        "in-bounds element, not to tap 0"
    ),
    "padding_negative_window": (
        "a pool window over padding whose in-bounds elements are all negative: "
        "padding is -inf, not 0"
    ),
    "fortran": "inputs in Fortran order (see the case's layout strides)",
    "strided": "inputs as every other element of a larger buffer",
    "negative_strides": "inputs as views with negative strides",
}

LAYOUT_FEATURES = {
    "fortran": "fortran",
    "strided": "strided",
    "negative-strides": "negative_strides",
}


# The ops whose output element (p, q) reads input rows p*stride + i*dilation - padding and
# columns likewise: the window features are computed for these.
WINDOWED = ("conv2d", "max_pool2d", "avg_pool2d")


def features_of(case: Case) -> frozenset[str]:
    """Every feature ``case`` exercises (its arrays built from its seed)."""
    found = _fields(case)
    if op_of(case) in WINDOWED:
        found |= _windows(case)
        if hasattr(case, "values"):  # max pooling's value patterns
            found |= {name for name, on in _window_values(case).items() if on}
    unknown = found - set(FEATURES)
    assert not unknown, f"undocumented features {unknown}"
    return frozenset(found)


def _fields(case: Any) -> set[str]:
    """The features read from the case's fields, for whichever of them it has."""
    channels = getattr(case, "channels", None) or max(case.in_channels, case.out_channels)
    pairs = [
        getattr(case, name)
        for name in ("kernel_size", "stride", "padding", "dilation", "output_padding")
        if getattr(case, name, None) is not None
    ]
    groups = getattr(case, "groups", 1)
    flags = {
        case.dtype: True,
        magnitude(case.dtype, case.seed).replace(" ", "_"): magnitude(case.dtype, case.seed)
        != "normal",
        "batch": case.batch > 1,
        "channels": channels > 1,
        "large_batch": case.batch > 32,
        "many_channels": channels > 16,
        "large_image": max(case.height, case.width) > 40,
        "non_square_input": case.height != case.width,
        "non_square_geometry": any(a != b for a, b in pairs),
        "stride": getattr(case, "stride", None) not in (None, (1, 1)),
        "stride_none": hasattr(case, "ceil_mode") and case.stride is None,
        "padding": getattr(case, "padding", (0, 0)) != (0, 0),
        "dilation": getattr(case, "dilation", (1, 1)) != (1, 1),
        "groups": groups > 1,
        "depthwise": groups > 1 and groups == case.in_channels,
        "bias": getattr(case, "bias", False),
        "no_bias": getattr(case, "bias", True) is False,
        "ceil_mode": getattr(case, "ceil_mode", False),
        LAYOUT_FEATURES.get(case.layout, "contiguous"): case.layout != "contiguous",
    }
    return {name for name, on in flags.items() if on}


def _windows(case: Any) -> set[str]:
    """The features of which inputs each output window reads."""
    axes = _axes(case)
    flags = {
        "overlapping_windows": any(
            len(reads[0]) > 1 and stride < effective_kernel(k, d)
            for (reads, _), k, stride, d in zip(
                axes, case.kernel_size, _stride(case), _dilation(case)
            )
        ),
        "unused_input": any(
            len(np.unique(reads[ok])) < size for (reads, ok), size in zip(axes, _sides(case))
        ),
    }
    if hasattr(case, "bias"):  # an output that reads only padding is the bias alone
        flags["padding_only_window"] = any(not ok.any(axis=0).all() for _, ok in axes)
    if getattr(case, "ceil_mode", False):
        extra_window = rule_applied = False
        for size, out, k, s, p, d in _axis_arguments(case):
            rounded_up = (size + 2 * p - effective_kernel(k, d) + s - 1) // s + 1
            extra_window |= out > pool_output_size(size, k, s, p, d, ceil_mode=False)
            rule_applied |= rounded_up > out
        flags["ceil_mode_extra_window"] = extra_window
        flags["ceil_mode_last_window_rule"] = rule_applied
    return {name for name, on in flags.items() if on}


def _window_values(case: Any) -> dict[str, bool]:
    """Features of the values each window reads (padding excluded)."""
    x, _ = case.arrays()
    (rows, row_ok), (cols, col_ok) = _axes(case)
    height, width = x.shape[-2:]
    # values[n, c, i, j, p, q]: tap (i, j) of window (p, q); in_bounds[i, j, p, q].
    values = x[
        :,
        :,
        rows.clip(0, height - 1)[:, None, :, None],
        cols.clip(0, width - 1)[None, :, None, :],
    ].astype(np.float64)
    in_bounds = row_ok[:, None, :, None] & col_ok[None, :, None, :]
    kh, kw, oh, ow = in_bounds.shape
    values = values.reshape(*x.shape[:2], kh * kw, oh, ow)
    in_bounds = np.broadcast_to(in_bounds.reshape(kh * kw, oh, ow), values.shape)

    nans = (np.isnan(values) & in_bounds).sum(axis=2)
    neginf = (values == -np.inf) & in_bounds
    with np.errstate(invalid="ignore"):
        maximum = np.where(in_bounds, values, -np.inf).max(axis=2)
        tied = ((values == maximum[:, :, None]) & in_bounds).sum(axis=2) > 1
    all_neginf = (neginf | ~in_bounds).all(axis=2)
    over_padding = ~in_bounds.all(axis=2)
    return {
        "ties": bool((tied & (nans == 0) & (maximum > -np.inf)).any()),
        "nan": bool((nans > 0).any()),
        "nan_twice": bool((nans > 1).any()),
        "neginf": bool(neginf.any()),
        "all_neginf_window": bool(all_neginf.any()),
        "all_neginf_window_padded": bool((all_neginf & ~in_bounds[:, :, 0]).any()),
        "padding_negative_window": bool((over_padding & (nans == 0) & (maximum < 0)).any()),
    }


def _stride(case: Any) -> tuple[int, int]:
    return case.kernel_size if case.stride is None else case.stride


def _dilation(case: Any) -> tuple[int, int]:
    return getattr(case, "dilation", (1, 1))


def _sides(case: Any) -> tuple[int, int]:
    return case.height, case.width


def _axis_arguments(case: Any):
    """(size, out, kernel, stride, padding, dilation) along the height, then the width."""
    return zip(
        _sides(case),
        case.y_shape[-2:],
        case.kernel_size,
        _stride(case),
        case.padding,
        _dilation(case),
    )


def _axes(case: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per axis: ``reads[i, q]``, the input index tap i of window q reads, and whether it
    is in bounds (not padding)."""
    axes = []
    for size, out, k, s, p, d in _axis_arguments(case):
        reads = np.arange(k)[:, None] * d + np.arange(out)[None, :] * s - p
        axes.append((reads, (reads >= 0) & (reads < size)))
    return axes
