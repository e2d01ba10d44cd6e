"""avg_pool2d: 2-D average pooling, as torch.nn.functional.avg_pool2d, and its gradient."""

from .. import Signature

# Features a candidate may declare it lacks that only this op has (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.  "pool_padding",
# "ceil_mode" and "stride_none" mean what they mean for max_pool2d.
FEATURES = {
    "pool_padding": "padding other than 0 in avg_pool2d",
    "ceil_mode": "ceil_mode=True",
    "stride_none": "stride=None (the stride is the kernel size)",
    "count_include_pad": "count_include_pad=False (windows divide by the elements inside x)",
    "divisor_override": "divisor_override other than None",
    "nonfinite_x": "NaN and +-inf in x",
}

# The call as a caller writes it: the forward's arrays in order (the backward takes dy
# first; an operand b may be None), the geometry with its defaults in positional order,
# and what the backward returns.
SIGNATURE = Signature(
    operands=("x",),
    geometry=(
        ("kernel_size", None),
        ("stride", None),
        ("padding", 0),
        ("ceil_mode", False),
        ("count_include_pad", True),
        ("divisor_override", None),
    ),
    pairs=frozenset({"kernel_size", "stride", "padding"}),
    gradients=("dx",),
    required=frozenset({"kernel_size"}),
)
