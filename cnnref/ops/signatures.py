"""Each op's call as a caller writes it: its array operands, and its geometry with defaults.

The adapters (in the candidate's process) and the contract's messages read
this; it imports nothing, so the candidate's lean process may too.  A test
holds it to the reference's own signatures (tests/test_adapters.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from . import OPS


@dataclass(frozen=True)
class Signature:
    """``op(*operands, **geometry)`` and ``op_backward(dy, *operands, **geometry)``."""

    operands: tuple[str, ...]  # arrays; an operand named "b" may be None
    geometry: tuple[tuple[str, object], ...]  # (name, default), in positional order
    pairs: frozenset[str]  # geometry given as an int or an (h, w) pair
    gradients: tuple[str, ...]  # what the backward returns, in order
    required: frozenset[str] = frozenset()  # geometry a caller must give (its default unused)

    def backward_operands(self) -> tuple[str, ...]:
        return ("dy", *self.operands)

    def argument_names(self, function: str) -> tuple[str, ...]:
        """The names of ``function``'s positional arguments, arrays first."""
        arrays = self.backward_operands() if function.endswith("_backward") else self.operands
        return (*arrays, *(name for name, _ in self.geometry))


_CONV_GEOMETRY = (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1))
_POOL_GEOMETRY = (("stride", None), ("padding", 0), ("dilation", 1), ("ceil_mode", False))

SIGNATURES: dict[str, Signature] = {
    "conv2d": Signature(
        ("x", "w", "b"),
        _CONV_GEOMETRY,
        frozenset({"stride", "padding", "dilation"}),
        ("dx", "dw", "db"),
    ),
    "max_pool2d": Signature(
        ("x",),
        (("kernel_size", None), *_POOL_GEOMETRY),
        frozenset({"kernel_size", "stride", "padding", "dilation"}),
        ("dx",),
        frozenset({"kernel_size"}),
    ),
    "conv_transpose2d": Signature(
        ("x", "w", "b"),
        (("stride", 1), ("padding", 0), ("output_padding", 0), ("groups", 1), ("dilation", 1)),
        frozenset({"stride", "padding", "output_padding", "dilation"}),
        ("dx", "dw", "db"),
    ),
    "avg_pool2d": Signature(
        ("x",),
        (
            ("kernel_size", None),
            ("stride", None),
            ("padding", 0),
            ("ceil_mode", False),
            ("count_include_pad", True),
            ("divisor_override", None),
        ),
        frozenset({"kernel_size", "stride", "padding"}),
        ("dx",),
        frozenset({"kernel_size"}),
    ),
    "adaptive_avg_pool2d": Signature(
        ("x",), (("output_size", None),), frozenset(), ("dx",), frozenset({"output_size"})
    ),
    "adaptive_max_pool2d": Signature(
        ("x",), (("output_size", None),), frozenset(), ("dx",), frozenset({"output_size"})
    ),
}
if set(SIGNATURES) != set(OPS):  # an op added to the registry needs its signature here
    raise ImportError(f"cnnref.ops.signatures covers {sorted(SIGNATURES)}, OPS {sorted(OPS)}")


def argument_names(function: str) -> tuple[str, ...]:
    """``function``'s positional argument names: ``conv2d_backward`` -> (dy, x, w, b, stride, ...)."""
    return SIGNATURES[function.removesuffix("_backward")].argument_names(function)
