"""JAX's lax.conv_general_dilated and lax.reduce_window (what flax.linen's Conv and max_pool
call), backwards by jax.vjp.

    pip install "jax[cpu]==0.10.2"
    python -m cnnref verify --impl examples.compat.jax_lax_layers:layers --seed 0
"""

import jax.numpy as jnp
from jax import lax

from cnnref.adapters import jax_forward


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    pads = [(p, p) for p in padding]
    y = lax.conv_general_dilated(
        x, w, stride, pads, rhs_dilation=dilation, feature_group_count=groups,
        dimension_numbers=("NCHW", "OIHW", "NCHW"),
    )  # fmt: skip
    return y if b is None else y + b[None, :, None, None]


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    pads = ((0, 0), (0, 0), *((p, p) for p in padding))
    window, steps = (1, 1, *kernel_size), (1, 1, *(stride or kernel_size))
    return lax.reduce_window(x, -jnp.inf, lax.max, window, steps, pads, None, (1, 1, *dilation))


# lax.reduce_window has no ceil_mode.
layers = jax_forward(conv2d=conv2d, max_pool2d=max_pool2d, unsupported={"ceil_mode"})

# Round 2: the pool alone with dilation declared, to look past round 1's finding (JAX has no VJP
# for a dilated max pool, see README).
pool_without_dilation = jax_forward(max_pool2d=max_pool2d, unsupported={"ceil_mode", "dilation"})

# Round 3: NaN declared too, to look past round 2's findings (NaN dropped on large inputs, and
# routed past; see README).
pool_without_dilation_or_nan = jax_forward(
    max_pool2d=max_pool2d, unsupported={"ceil_mode", "dilation", "nan"}
)

# With conventions: JAX pads with -inf values, which compete (an all -inf window next to the
# padding routes into it), declared as the convention it is; NaN (dropped on large inputs, a
# bug) stays declared unsupported.
pool_as_declared = jax_forward(
    max_pool2d=max_pool2d,
    unsupported={"ceil_mode", "dilation", "nan"},
    conventions={"pad_value": "-inf-competes"},
)
