"""The catalogue: realistic buggy candidates that ``cnnref verify`` must catch, and correct ones it must pass.

Each entry is a ``--impl`` target: ``tests.candidates.catalogue:<name>``.
"""

from __future__ import annotations

import os
from types import SimpleNamespace

from .student import build, crash, hang

# name -> (the op it breaks, what the bug is); the README's gradcheck table uses the same names.
BUGS = {
    "flip_kernel": (
        "conv",
        "conv2d computes a true convolution (kernel rotated 180 degrees) in forward and backward",
    ),
    "stride_axes_swapped": ("conv", "stride[0] used for width and stride[1] for height"),
    "padding_one_side": ("conv", "zero padding added only at the top and left"),
    "dilation_ignored": ("conv", "dilation treated as 1"),
    "groups_read_first_block": ("conv", "every group reads the first group's input channels"),
    "bias_first_item_only": ("conv", "the bias is added to the first batch item only"),
    "float32_accumulator": ("conv", "conv2d accumulates in a float32 buffer"),
    "assumes_contiguous": ("conv", "im2col strides computed as if the input were C-contiguous"),
    "dx_kernel_rotated": ("conv", "dL/dX scatters with the rotated kernel"),
    "dx_overlap_assigned": ("conv", "dL/dX assigns overlapping taps instead of adding them"),
    "dx_crop_from_origin": ("conv", "dL/dX crops the padding from the origin, not from both sides"),
    "dw_mean_over_batch": ("conv", "dL/dW divided by the batch size"),
    "dw_whole_chunks_only": (
        "conv",
        "dL/dW sums the batch in chunks of 32 and drops the remainder (batch > 32)",
    ),
    "db_mean": ("conv", "dL/db is a mean instead of a sum"),
    "backward_float32": ("conv", "dL/dW accumulated and returned in float32"),
    "pair_rejects_int": ("conv", "the pair helper is tuple(), so a plain int stride raises"),
    "padding_default_one": ("conv", "padding defaults to 1 ('same' for 3x3), not 0"),
    "float64_output": ("conv", "conv2d returns float64 for float32 inputs"),
    "dy_nan_zeroed_in_place": ("conv", "conv2d_backward zeroes the NaN of the caller's dy"),
    "shape_keyed_cache": (
        "conv",
        "conv2d keeps its last input per shape; conv2d_backward takes that x (if any) for its own",
    ),
    "ties_last": ("pool", "max pool routes a tie to the last maximum (>= instead of >)"),
    "ties_to_all": ("pool", "max pool backward sends dL/dY to every tied maximum"),
    "nan_first": ("pool", "max pool routes to the first NaN instead of the last"),
    "nan_ignored": ("pool", "max pool forward skips NaN (nanmax)"),
    "nan_to_inf_in_place": ("pool", "max pool backward writes inf over the caller's NaN"),
    "neginf_to_tap_zero": (
        "pool",
        "an all -inf window routes to its first tap even when that is padding",
    ),
    "zero_padding": ("pool", "max pool pads with 0 instead of never reading the padding"),
    "ceil_mode_ignored": ("pool", "max pool always rounds the output size down"),
    "ceil_mode_keeps_last_window": (
        "pool",
        "in ceil_mode, max pool keeps a last window that starts in the right padding",
    ),
    "stride_none_means_one": ("pool", "max pool treats stride=None as 1"),
    "overlap_assigned": (
        "pool",
        "max pool backward assigns where windows overlap instead of adding",
    ),
    "index_uint8": (
        "pool",
        "max pool backward stores scatter indices in uint8 (wraps past 255 positions)",
    ),
    "pool_view_for_unit_kernel": ("pool", "a 1x1 max pool returns a view of its input"),
    "pool_backward_float32": ("pool", "max pool backward returns float32 for float64 inputs"),
    "nan_dy_spread_by_mask": (
        "pool",
        "max pool backward multiplies dy by a 0/1 mask, so NaN and inf in dy spread",
    ),
}

globals().update({name: build(name) for name in BUGS})

correct = build()

# Candidates that misbehave as programs rather than compute wrong values.
raises = SimpleNamespace(**vars(build()))
raises.conv2d_backward = lambda *args, **kwargs: (_ for _ in ()).throw(
    NotImplementedError("backward: TODO")
)
wrong_type = SimpleNamespace(**vars(build()))
wrong_type.max_pool2d = lambda *args, **kwargs: correct.max_pool2d(*args, **kwargs).tolist()
hangs = SimpleNamespace(**vars(build()))
hangs.conv2d = hang
crashes = SimpleNamespace(**vars(build()))
crashes.max_pool2d_backward = crash
# Every function ends its process: with os.abort, or with os._exit (no exception, no message).
aborts_always = SimpleNamespace(**dict.fromkeys(vars(correct), crash))
exits_always = SimpleNamespace(**dict.fromkeys(vars(correct), lambda *args, **kwargs: os._exit(3)))

# Forwards that are wrong over backwards that are right: the backward must not take the blame.
pool_forward_zero_padding = SimpleNamespace(**vars(build()))
pool_forward_zero_padding.max_pool2d = build("zero_padding").max_pool2d
conv_forward_wrong_shape = SimpleNamespace(**vars(build()))
conv_forward_wrong_shape.conv2d = lambda *args, **kwargs: correct.conv2d(*args, **kwargs)[..., :-1]

MISBEHAVING = {
    "raises": ("conv", "conv2d_backward raises NotImplementedError"),
    "wrong_type": ("pool", "max_pool2d returns a list"),
    "hangs": ("conv", "conv2d never returns"),
    "crashes": ("pool", "max_pool2d_backward aborts the process"),
    "aborts_always": ("all", "every function aborts the process"),
    "exits_always": ("all", "every function calls os._exit(3)"),
}
