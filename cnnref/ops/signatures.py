"""Each op's call as a caller writes it: its array operands, and its geometry with defaults.

Each op's folder declares its own (``SIGNATURE`` in its ``__init__.py``); this
is the table of them.  The adapters (in the candidate's process) and the
contract's messages read it; it imports no op's code, so the candidate's lean
process may too.  A test holds it to the reference's own signatures
(tests/adapters/test_adapters.py).
"""

from __future__ import annotations

from . import OPS, Signature, op_signature

__all__ = ["SIGNATURES", "Signature", "argument_names"]

SIGNATURES: dict[str, Signature] = {op: op_signature(op) for op in OPS}


def argument_names(function: str) -> tuple[str, ...]:
    """``function``'s positional argument names: ``conv2d_backward`` -> (dy, x, w, b, stride, ...)."""
    return SIGNATURES[function.removesuffix("_backward")].argument_names(function)
