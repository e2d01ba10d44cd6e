"""mygrad's conv_nd and max_pool, backwards by mygrad's autodiff.

pip install mygrad==2.5.0
python -m cnnref verify --impl examples.compat.mygrad_layers:conv --seed 0
python -m cnnref verify --impl examples.compat.mygrad_layers:pool --seed 0
"""

import mygrad as mg
from mygrad.nnet.layers import conv_nd, max_pool

from cnnref.adapters import from_autograd


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    y = conv_nd(x, w, stride=stride, padding=padding, dilation=dilation)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return max_pool(x, kernel_size, stride or kernel_size)


# mygrad has no groups, and no padding, dilation or ceil_mode in max_pool.
conv = from_autograd(mg.Tensor, conv2d=conv2d, unsupported={"groups"})
pool = from_autograd(
    mg.Tensor, max_pool2d=max_pool2d, unsupported={"padding", "dilation", "ceil_mode"}
)

# Round 2: the conv with dilation declared, to look past round 1's finding (valid dilations
# rejected, see README).
conv_without_dilation = from_autograd(mg.Tensor, conv2d=conv2d, unsupported={"groups", "dilation"})

# Round 3: strides declared too (mygrad requires windows that tile the input exactly, and cnnref
# has no declaration for that yet), to look past round 2's finding.
conv_stride_1 = from_autograd(
    mg.Tensor, conv2d=conv2d, unsupported={"groups", "dilation", "stride"}
)

# With conventions: mygrad's conv requires windows that tile the input exactly, declared as the
# convention it is; valid dilations are rejected (a bug), so dilation stays declared unsupported.
conv_as_declared = from_autograd(
    mg.Tensor,
    conv2d=conv2d,
    unsupported={"groups", "dilation"},
    conventions={"conv": {"windows": "exact"}},
)

# With conventions: mygrad's pool requires windows that tile the input exactly, and routes a
# window's gradient to its first NaN (np.argmax), both declared as the conventions they are
# (windows="exact": pool conventions only; the conv has no such declaration).
pool_as_declared = from_autograd(
    mg.Tensor,
    max_pool2d=max_pool2d,
    unsupported={"padding", "dilation", "ceil_mode"},
    conventions={"windows": "exact", "nan": "first"},
)
