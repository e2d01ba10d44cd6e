"""adaptive_avg_pool2d: 2-D adaptive average pooling, as
torch.nn.functional.adaptive_avg_pool2d, and its gradient.

Output cell i of an output side O over an input side H averages the input
from ``floor(i * H / O)`` to ``ceil((i + 1) * H / O)`` (exclusive): windows
of varying size that may overlap.
"""

from .. import Signature

# Features a candidate may declare it lacks that only the adaptive pools have (the rest are in
# cnnref.declarations): name -> what declaring it unsupported turns off.
FEATURES = {
    "output_size_none": "None in output_size (that side keeps the input's size)",
    "output_upsampling": "an output side larger than the input's (windows of one element, "
    "read by several cells)",
    "nonfinite_x": "NaN and +-inf in x",
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
