"""tinygrad's Tensor.conv2d and Tensor.max_pool2d, backwards by tinygrad's autodiff.

pip install tinygrad==0.14.0   # its CPU device compiles kernels with clang (apt-get install clang)
DEV=CPU CC=clang-14 CACHELEVEL=0 \
    python -m cnnref verify --impl examples.compat.tinygrad_layers:layers --seed 0 --timeout 120

CC names the clang binary (Debian 12's is clang-14); CACHELEVEL=0 keeps tinygrad from writing
its kernel cache to ~/.cache, which the candidate's process may not write; the first call of a
new shape compiles kernels, which can take longer than the default 10 s per call.
"""

from tinygrad import Tensor

from cnnref.adapters import from_autograd


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    return x.conv2d(w, b, groups=groups, stride=stride, dilation=dilation, padding=padding)


BACKWARD = "y.backward(wrap(dy))"  # tinygrad takes dL/dY as a Tensor


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    return x.max_pool2d(kernel_size, stride, dilation, padding, ceil_mode)


layers = from_autograd(Tensor, conv2d=conv2d, max_pool2d=max_pool2d, backward=BACKWARD)

# Round 2: NaN declared, to look past round 1's NaN findings (see README).
# Ties split evenly have no declaration yet, so the pool backward still fails on them.
pool_without_nan = from_autograd(
    Tensor,
    max_pool2d=max_pool2d,
    backward=BACKWARD,
    unsupported={"nan"},
)
