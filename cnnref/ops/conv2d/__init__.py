"""conv2d: a 2-D cross-correlation, as torch.nn.functional.conv2d, and its gradients."""

from .. import Signature

# Features a candidate may declare it lacks that only this op has (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.
FEATURES = {
    "conv_padding": "padding other than 0 in conv2d",
    "groups": "groups other than 1",
    "bias": "a bias b",
}

# The call as a caller writes it: the forward's arrays in order (the backward takes dy
# first; an operand b may be None), the geometry with its defaults in positional order,
# and what the backward returns.
SIGNATURE = Signature(
    operands=("x", "w", "b"),
    geometry=(("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1)),
    pairs=frozenset({"stride", "padding", "dilation"}),
    gradients=("dx", "dw", "db"),
)
