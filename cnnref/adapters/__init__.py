"""Adapters: point cnnref at a layer as it is written, in a few lines.

Each adapter builds an object that exposes cnnref's functions (those it
can build) and the object's own ``CNNREF_UNSUPPORTED``; bind it to a
module-level name and verify it like a module.  The forward adapters take a
forward for any op of ``cnnref.ops.OPS``, by the op's name
(``conv_transpose2d=F.conv_transpose2d``, ``avg_pool2d=F.avg_pool2d``)::

    # mypackage/cnnref_layers.py
    import torch.nn.functional as F
    from cnnref.adapters import torch_forward

    layers = torch_forward(conv2d=F.conv2d, max_pool2d=F.max_pool2d)

    # cnnref verify --impl mypackage.cnnref_layers:layers

* ``torch_forward`` / ``torch_module``: PyTorch forwards, backwards by autograd;
* ``jax_forward``: JAX forwards, backwards by ``jax.vjp``;
* ``from_autograd``: any library with ``.backward()`` and ``.grad`` (mygrad, dezero, tinygrad),
  seeding dL/dY in one of the named ``SEEDING`` styles or as detected;
* ``from_vjp``: any library with a vector-Jacobian product;
* ``hips_autograd`` / ``tensorflow_forward``: ``autograd.make_vjp`` and ``tf.GradientTape``;
* ``cs231n_conv`` / ``cs231n_pool``: ``(out, cache)`` forward and backward pairs;
* ``as_array``: the coercion every adapter applies to what a library returns.

Every adapter takes one forward per op of ``cnnref.ops.OPS`` (``conv2d=``,
``max_pool2d=``, ``conv_transpose2d=``, ``avg_pool2d=``) and builds both of
its functions; the forwards get their geometry as pairs, ints or as given
(``geometry=``, see ``differentiable``).

This package imports neither torch nor jax until an adapter for it is built.
"""

from __future__ import annotations

from .arrays import as_array
from .autograd import SEEDING, from_autograd
from .candidate import Adapted
from .cs231n import cs231n_conv, cs231n_pool
from .differentiable import GEOMETRY_FORMS, from_vjp
from .jax_vjp import jax_forward
from .pytorch import torch_forward, torch_module
from .vjp_libraries import hips_autograd, tensorflow_forward

__all__ = [
    "GEOMETRY_FORMS",
    "SEEDING",
    "Adapted",
    "as_array",
    "cs231n_conv",
    "cs231n_pool",
    "from_autograd",
    "from_vjp",
    "hips_autograd",
    "jax_forward",
    "tensorflow_forward",
    "torch_forward",
    "torch_module",
]
