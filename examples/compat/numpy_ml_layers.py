"""numpy-ml's Conv2D and Pool2D layers: objects with a forward and a backward, in NHWC.

pip install numpy-ml==0.1.2
python -m cnnref verify --impl examples.compat.numpy_ml_layers:conv --seed 0
python -m cnnref verify --impl examples.compat.numpy_ml_layers:pool --seed 0

A layer object is its own vector-Jacobian product: the forward builds it and runs it, the
pullback is its backward.  from_vjp takes exactly that.
"""

import collections
import collections.abc

collections.Hashable = collections.abc.Hashable  # numpy-ml 0.1.2 predates Python 3.10

import numpy as np  # noqa: E402
from numpy_ml.neural_nets.layers import Conv2D, Pool2D  # noqa: E402

from cnnref.adapters import from_vjp  # noqa: E402


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    pads = (padding[0], padding[0], padding[1], padding[1])
    layer = Conv2D(w.shape[0], w.shape[2:], pads, stride[0], dilation[0] - 1)  # 0: undilated
    layer.in_ch = x.shape[1]
    layer._init_params()
    layer.parameters["W"] = w.transpose(2, 3, 1, 0)  # (kh, kw, in, out)
    if b is not None:
        layer.parameters["b"] = b.reshape(1, 1, 1, -1)
    return layer, layer.forward(np.moveaxis(x, 1, -1))


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    pads = (padding[0], padding[0], padding[1], padding[1])
    layer = Pool2D(kernel_size, (stride or kernel_size)[0], pads, mode="max")
    return layer, layer.forward(np.moveaxis(x, 1, -1))


def vjp(forward, arrays):
    layer, y = forward(*arrays)

    def pullback(dy):
        dx = np.moveaxis(layer.backward(np.moveaxis(dy, 1, -1)), -1, 1)
        if isinstance(layer, Pool2D):
            return [dx]
        dw, db = layer.gradients["W"].transpose(3, 2, 0, 1), layer.gradients["b"].ravel()
        return [dx, dw, db][: len(arrays)]

    return np.moveaxis(y, -1, 1), pullback


# One stride, padding and dilation for both axes ("non_square"); no groups, no pool dilation.
conv = from_vjp(vjp, conv2d=conv2d, unsupported={"groups", "non_square"})
pool = from_vjp(vjp, max_pool2d=max_pool2d, unsupported={"dilation", "ceil_mode", "non_square"})

# Round 2: NaN (a crash) declared, to look past it at the padding.
pool_without_nan = from_vjp(
    vjp, max_pool2d=max_pool2d, unsupported={"dilation", "ceil_mode", "non_square", "nan"}
)

# Round 3: pool padding (zeros, and a backward that misreads it) and NaN (a crash) declared, to
# look past both (see README).
pool_without_padding_or_nan = from_vjp(
    vjp,
    max_pool2d=max_pool2d,
    unsupported={"dilation", "ceil_mode", "non_square", "padding", "nan"},
)

# With conventions: the zero pool padding declared as the convention it is, so what is left
# failing is the backward's misreading of the padding (a bug), not the padding itself.
pool_as_declared = from_vjp(
    vjp,
    max_pool2d=max_pool2d,
    unsupported={"dilation", "ceil_mode", "non_square", "nan"},
    conventions={"pad_value": "zeros"},
)
