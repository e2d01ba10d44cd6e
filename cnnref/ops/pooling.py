"""What the window pools (max_pool2d and avg_pool2d, whose windows are a kernel's, ``stride``
apart) declare alike: the window features a candidate may lack, and their call's leading
arguments.  It imports nothing but ``Signature``, so that an op's ``__init__`` stays lean."""

from __future__ import annotations

from . import Signature


def window_features(op: str) -> dict[str, str]:
    """The features of a window pool's windows a candidate may declare it lacks: name -> what
    declaring it unsupported turns off."""
    return {
        "pool_padding": f"padding other than 0 in {op}",
        "ceil_mode": "ceil_mode=True",
        "stride_none": "stride=None (the stride is the kernel size)",
    }


def window_pool_signature(
    *options: tuple[str, object], pairs: frozenset[str] = frozenset()
) -> Signature:
    """A window pool's call: x; kernel_size (required), stride (None: the kernel size) and
    padding, then ``options`` (name, default), those in ``pairs`` an int or an (h, w) pair;
    and dx."""
    return Signature(
        operands=("x",),
        geometry=(("kernel_size", None), ("stride", None), ("padding", 0), *options),
        pairs=frozenset({"kernel_size", "stride", "padding"}) | pairs,
        gradients=("dx",),
        required=frozenset({"kernel_size"}),
    )
