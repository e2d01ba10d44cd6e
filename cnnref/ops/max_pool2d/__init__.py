"""max_pool2d: 2-D max pooling, as torch.nn.functional.max_pool2d, and its gradient."""

from .. import Signature

# Features a candidate may declare it lacks that only this op has (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.
FEATURES = {
    "pool_padding": "padding other than 0 in max_pool2d",
    "ceil_mode": "ceil_mode=True",
    "stride_none": "stride=None (the stride is the kernel size)",
    "nan": "NaN in max pooling inputs",
    "inf": "-inf in max pooling inputs",
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
        ("dilation", 1),
        ("ceil_mode", False),
    ),
    pairs=frozenset({"kernel_size", "stride", "padding", "dilation"}),
    gradients=("dx",),
    required=frozenset({"kernel_size"}),
)
