"""conv_transpose2d: the transposed 2-D convolution (conv2d's dL/dX as an op) and its gradients."""

from .. import Signature

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

# The call as a caller writes it: the forward's arrays in order (the backward takes dy
# first; an operand b may be None), the geometry with its defaults in positional order,
# and what the backward returns.
SIGNATURE = Signature(
    operands=("x", "w", "b"),
    geometry=(("stride", 1), ("padding", 0), ("output_padding", 0), ("groups", 1), ("dilation", 1)),
    pairs=frozenset({"stride", "padding", "output_padding", "dilation"}),
    gradients=("dx", "dw", "db"),
)
