"""DeZero's conv2d and pooling ("Deep Learning from Scratch 3"), backwards by its autodiff.

pip install dezero==0.0.13 matplotlib   # dezero imports matplotlib
python -m cnnref verify --impl examples.compat.dezero_layers:conv --seed 0
python -m cnnref verify --impl examples.compat.dezero_layers:pool --seed 0
"""

import numpy as np

np.int = int  # dezero 0.0.13 still uses the alias NumPy 1.24 removed; it cannot import without it

import dezero  # noqa: E402
import dezero.functions as F  # noqa: E402

from cnnref.adapters import from_autograd  # noqa: E402

# DeZero seeds dL/dY through y.grad (a Variable), then y.backward(): from_autograd's
# backward="y.grad = wrap(dy)".
BACKWARD = "y.grad = wrap(dy)"


def value(v):  # a DeZero Variable keeps its array in .data
    return v.data if isinstance(v, dezero.Variable) else v


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return F.conv2d(x, w, b, stride, padding)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return F.pooling(x, kernel_size, stride or kernel_size, padding)


# DeZero has no dilation and no groups, and no ceil_mode in pooling.
conv = from_autograd(
    dezero.Variable,
    conv2d=conv2d,
    backward=BACKWARD,
    value=value,
    unsupported={"dilation", "groups"},
)
pool = from_autograd(
    dezero.Variable,
    max_pool2d=max_pool2d,
    backward=BACKWARD,
    value=value,
    unsupported={"dilation", "ceil_mode"},
)

# Round 2: pool padding (DeZero pads with zeros) and NaN (routed to the first NaN) declared,
# to look past round 1's findings (see README).
pool_without_padding_or_nan = from_autograd(
    dezero.Variable,
    max_pool2d=max_pool2d,
    backward=BACKWARD,
    value=value,
    unsupported={"dilation", "ceil_mode", "padding", "nan"},
)

# Round 3, with conventions: DeZero's zero pool padding and first-NaN routing declared as the
# conventions they are, so pooling over padding and NaN are checked against them instead of
# switched off.
pool_as_declared = from_autograd(
    dezero.Variable,
    max_pool2d=max_pool2d,
    backward=BACKWARD,
    value=value,
    unsupported={"dilation", "ceil_mode"},
    conventions={"pad_value": "zeros", "nan": "first"},
)
