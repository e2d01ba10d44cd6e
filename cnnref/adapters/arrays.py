"""Results as NumPy arrays: what an adapter does to whatever a library returns.

Coercion happens in the candidate's own process, before the result crosses
to the verifier, and it never copies what it need not: ``np.asarray`` of a
CPU tensor or a DLPack capsule is a view of the library's memory.  So a
result that aliases an input still shares memory with it when the contract
check looks (``wire.shared_memory`` runs on what the adapter returns), and
a result of the wrong dtype keeps its dtype.  Anything that is not
array-like is returned unchanged, for the contract check to name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..precision import BFLOAT16


def as_array(value: Any) -> Any:
    """``value`` as an ndarray if it is array-like (``__array__``, DLPack, ``.numpy()``).

    None, tuples, lists and other objects come back unchanged: a list is not
    a result cnnref accepts, and the verifier says so.  An array-like value
    that refuses every way raises TypeError with the reasons it gave.
    """
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    if str(getattr(value, "dtype", "")) == "torch.bfloat16":
        return _bfloat16_tensor(value)
    refusals = []
    for way, convert in (
        ("__array__", lambda v: np.asarray(v)),
        ("__dlpack__", np.from_dlpack),
        ("numpy", lambda v: v.numpy()),
    ):
        if not callable(getattr(value, way, None)):
            continue
        try:
            array = convert(value)
        except Exception as error:  # a tensor that requires grad, or lives on a GPU
            refusals.append(f"{way}: {type(error).__name__}: {error}")
            continue
        if isinstance(array, np.ndarray):
            return array
    if refusals:
        raise TypeError(
            f"cannot read {type(value).__name__} as a NumPy array ({'; '.join(refusals)})"
        )
    return value


def _bfloat16_tensor(tensor: Any) -> np.ndarray:
    """A torch bfloat16 tensor as an ml_dtypes bfloat16 array (a view of its memory):
    NumPy has no bfloat16 of its own, so torch exports it through its 16-bit integer bits."""
    import torch

    return tensor.view(torch.int16).numpy().view(BFLOAT16)
