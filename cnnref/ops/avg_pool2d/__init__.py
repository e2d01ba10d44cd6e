"""avg_pool2d: 2-D average pooling, as torch.nn.functional.avg_pool2d, and its gradient."""

from ..pooling import window_features, window_pool_signature

# Features a candidate may declare it lacks that only this op has (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.  The window
# features ("pool_padding", "ceil_mode", "stride_none") mean what they mean for max_pool2d.
FEATURES = window_features("avg_pool2d") | {
    "count_include_pad": "count_include_pad=False (windows divide by the elements inside x)",
    "divisor_override": "divisor_override other than None",
    "nonfinite_x": "NaN and +-inf in x",
}

# The call as a caller writes it: x, the window's geometry with its defaults in positional
# order, then the divisor rules; the backward takes dy first and returns dx.
SIGNATURE = window_pool_signature(
    ("ceil_mode", False), ("count_include_pad", True), ("divisor_override", None)
)
