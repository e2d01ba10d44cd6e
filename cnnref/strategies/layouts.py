"""The same values in different memory layouts.

Implementations that assume C-contiguous memory (``as_strided`` with strides
computed from the shape, ``np.frombuffer``, raw pointers) go wrong on views.
Each layout here holds exactly the values of the C-ordered array it is given.
"""

from __future__ import annotations

import numpy as np

LAYOUTS = ("contiguous", "fortran", "strided", "negative-strides")


def with_layout(array: np.ndarray, layout: str) -> np.ndarray:
    """Return an array equal to ``array`` but laid out in memory as ``layout`` says."""
    if layout == "contiguous":
        return np.ascontiguousarray(array)
    if layout == "fortran":
        return np.asfortranarray(array)
    if layout == "strided":
        # Every other element of a larger buffer along each axis.
        host = np.full(tuple(2 * s for s in array.shape), np.nan, dtype=array.dtype)
        view = host[tuple(slice(None, None, 2) for _ in array.shape)]
        view[...] = array
        return view
    if layout == "negative-strides":
        flipped = np.ascontiguousarray(array[..., ::-1, ::-1])
        return flipped[..., ::-1, ::-1]
    raise ValueError(f"layout must be one of {LAYOUTS}; got {layout!r}")
