"""adaptive_max_pool2d: 2-D adaptive max pooling, as torch.nn.functional.adaptive_max_pool2d,
and its gradient.

Its windows are adaptive_avg_pool2d's (floor(i * H / O) to ceil((i + 1) * H / O)),
and each routes dL/dY to one element, as max_pool2d's do: the first maximum,
or the last NaN.
"""

from ..adaptive_avg_pool2d import SIGNATURE as ADAPTIVE_AVG_POOL2D_SIGNATURE

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

# Its call is adaptive_avg_pool2d's: x, and output_size (required).
SIGNATURE = ADAPTIVE_AVG_POOL2D_SIGNATURE
