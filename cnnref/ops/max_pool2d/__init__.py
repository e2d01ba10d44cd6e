"""max_pool2d: 2-D max pooling, as torch.nn.functional.max_pool2d, and its gradient."""

from ..pooling import window_features, window_pool_signature

# Features a candidate may declare it lacks that only this op has (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.
FEATURES = window_features("max_pool2d") | {
    "nan": "NaN in max pooling inputs",
    "inf": "-inf in max pooling inputs",
}

# The call as a caller writes it: x, the window's geometry with its defaults in positional
# order (dilation an int or a pair); the backward takes dy first and returns dx.
SIGNATURE = window_pool_signature(
    ("dilation", 1), ("ceil_mode", False), pairs=frozenset({"dilation"})
)
