"""adaptive_max_pool2d: 2-D adaptive max pooling, as torch.nn.functional.adaptive_max_pool2d,
and its gradient.

Its windows are adaptive_avg_pool2d's (floor(i * H / O) to ceil((i + 1) * H / O)),
and each routes dL/dY to one element, as max_pool2d's do: the first maximum,
or the last NaN.
"""

from .. import Signature

# Features a candidate may declare it lacks that only this op has (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.  "nan" and "inf"
# mean what they mean for max_pool2d, the output size's features what they mean for
# adaptive_avg_pool2d.
FEATURES = {
    "output_size_none": "None in output_size (that side keeps the input's size)",
    "output_upsampling": "an output side larger than the input's (windows of one element, "
    "read by several cells)",
    "nan": "NaN in max pooling inputs",
    "inf": "-inf in max pooling inputs",
}

# The call as a caller writes it: the forward's arrays in order (the backward takes dy
# first; an operand b may be None), the geometry with its defaults in positional order,
# and what the backward returns.
SIGNATURE = Signature(
    operands=("x",),
    geometry=(("output_size", None),),
    pairs=frozenset(),
    gradients=("dx",),
    required=frozenset({"output_size"}),
)
