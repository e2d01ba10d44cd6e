"""max_pool2d: 2-D max pooling, as torch.nn.functional.max_pool2d, and its gradient."""

# Features a candidate may declare it lacks that only this op has (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.
FEATURES = {
    "pool_padding": "padding other than 0 in max_pool2d",
    "ceil_mode": "ceil_mode=True",
    "stride_none": "stride=None (the stride is the kernel size)",
    "nan": "NaN in max_pool2d inputs",
    "inf": "-inf in max_pool2d inputs",
}

# The forward's arrays in the order it takes them (the backward takes dy first).
OPERANDS = ("x",)
