"""The NumPy reference: every op's functions, as ``cnnref.conv2d`` and friends run them.

Each op has two forms, in its folder (``cnnref/ops/<op>/``), checked against each other:

* ``literal``: the op written as its derivation (docs/derivation.md), the oracle;
* ``fast``: the same maths as large matrix products and whole-array passes,
  which is what the public functions run.

This module names them: ``reference.conv2d`` is the fast form, and
``reference.literal.conv2d`` / ``reference.fast.conv2d`` each form by name.
"""

from types import SimpleNamespace
from typing import TYPE_CHECKING

from ..ops import FUNCTIONS, form
from ..precision import through_float32

# What the registry binds below, named for type checkers and editors, which read imports
# rather than the registry.
if TYPE_CHECKING:  # written by scripts/derived.py from the registry
    from ..ops.adaptive_avg_pool2d.fast import adaptive_avg_pool2d, adaptive_avg_pool2d_backward
    from ..ops.adaptive_max_pool2d.fast import adaptive_max_pool2d, adaptive_max_pool2d_backward
    from ..ops.avg_pool2d.fast import avg_pool2d, avg_pool2d_backward
    from ..ops.conv2d.fast import conv2d, conv2d_backward
    from ..ops.conv_transpose2d.fast import conv_transpose2d, conv_transpose2d_backward
    from ..ops.max_pool2d.fast import max_pool2d, max_pool2d_backward

# float16 and bfloat16 inputs are summed in float32 and rounded once (cnnref.precision.through_float32).
fast = SimpleNamespace(
    **{function: through_float32(form(function, "fast")) for function in FUNCTIONS}
)
literal = SimpleNamespace(
    **{function: through_float32(form(function, "literal")) for function in FUNCTIONS}
)
globals().update(vars(fast))

__all__ = ["fast", "literal", *FUNCTIONS]
