"""conv2d: a 2-D cross-correlation, as torch.nn.functional.conv2d, and its gradients."""

# Features a candidate may declare it lacks that only this op has (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.
FEATURES = {
    "conv_padding": "padding other than 0 in conv2d",
    "groups": "groups other than 1",
    "bias": "a bias b",
}

# The forward's arrays in the order it takes them (the backward takes dy first); the last, b, may be None (no bias).
OPERANDS = ("x", "w", "b")
