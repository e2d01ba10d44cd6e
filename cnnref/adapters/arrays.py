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


def as_array(value: Any) -> Any:
    """``value`` as an ndarray if it is array-like (``__array__``, DLPack, ``.numpy()``).

    None, tuples, lists and other objects come back unchanged: a list is not
    a result cnnref accepts, and the verifier says so.
    """
    if value is None or isinstance(value, np.ndarray):
        return value
    if isinstance(value, np.generic):
        return np.asarray(value)
    for convert in (_from_array_protocol, _from_dlpack, _from_numpy_method):
        array = convert(value)
        if array is not None:
            return array
    return value


def _from_array_protocol(value: Any) -> np.ndarray | None:
    if not hasattr(value, "__array__"):
        return None
    try:
        return np.asarray(value)
    except Exception:  # a tensor that refuses (one that requires grad): try the next way
        return None


def _from_dlpack(value: Any) -> np.ndarray | None:
    if not hasattr(value, "__dlpack__"):
        return None
    try:
        return np.from_dlpack(value)
    except Exception:  # on a device NumPy cannot read: try the next way
        return None


def _from_numpy_method(value: Any) -> np.ndarray | None:
    numpy = getattr(value, "numpy", None)
    if not callable(numpy):
        return None
    try:
        array = numpy()
    except Exception:  # a tensor that refuses: the contract check names its type
        return None
    return array if isinstance(array, np.ndarray) else None
