"""conv_transpose2d: the transposed 2-D convolution (conv2d's dL/dX as an op) and its gradients."""

# Features a candidate may declare it lacks that only this op has (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.  "conv_padding",
# "groups" and "bias" mean what they mean for conv2d, so they keep conv2d's names (and its
# wording, which the first op to declare a name sets).
FEATURES = {
    "conv_padding": "padding other than 0 in conv2d and conv_transpose2d",
    "groups": "groups other than 1",
    "bias": "a bias b",
    "output_padding": "output_padding other than 0 in conv_transpose2d",
}

# The forward's arrays in the order it takes them (the backward takes dy first); the last, b, may be None (no bias).
OPERANDS = ("x", "w", "b")
