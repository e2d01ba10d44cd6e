"""The contract every function keeps, whatever it computes.

It returns new arrays of the documented shapes and dtype, leaves its inputs
exactly as they were, gives the same bits when called twice, and (for
gradients) returns zeros for a zero dL/dY.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..precision import is_half
from .base import Candidate, Falsified, expect_array, type_name, unpack


def call_and_check(
    candidate: Candidate,
    function: str,
    args: tuple,
    geometry: dict,
    *,
    names: tuple[str, ...],
    shapes: tuple[tuple[int, ...] | None, ...],
    dtype: np.dtype,
) -> list[np.ndarray | None]:
    """Call ``function`` twice; check types, shapes, dtypes, inputs, aliasing and determinism."""
    originals = [None if a is None else np.array(a, copy=True) for a in args]
    watched = candidate.call_watched(function, args, geometry)
    first = _outputs(watched.result, function, names, shapes)
    _require_unchanged(args, originals, function)
    for name, output in zip(names, first):
        if output is not None and output.dtype != dtype:
            raise Falsified(
                f"{function} returned {name} of dtype {output.dtype}; expected {dtype} (np.result_type of the inputs)"
            )
    for output, position in sorted(watched.shared):
        if output < len(names):
            raise Falsified(
                f"{function} returned {names[output]} sharing memory with its argument {position + 1}: results must be new arrays"
            )
    second = _outputs(candidate.call(function, *args, **geometry), function, names, shapes)
    for name, a, b in zip(names, first, second):
        if a is not None and not np.array_equal(a, b, equal_nan=True):
            index = tuple(int(i) for i in np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b))))[0])
            raise Falsified(
                f"{function} is not deterministic: two calls with the same inputs gave {name}{list(index)} = {a[index]!r}, then {b[index]!r}"
            )
    return first


def _outputs(result: Any, function: str, names: tuple[str, ...], shapes) -> list:
    values = unpack(result, function=function, names=names) if len(names) > 1 else (result,)
    outputs = []
    for name, value, shape in zip(names, values, shapes):
        if shape is None:
            if value is not None:
                raise Falsified(
                    f"{function} returned {name}={type_name(value)}; expected None (no bias was given)"
                )
            outputs.append(None)
        else:
            outputs.append(expect_array(value, function=function, name=name, shape=shape))
    return outputs


def _require_unchanged(args: tuple, originals: list, function: str) -> None:
    for position, (arg, original) in enumerate(zip(args, originals)):
        if original is None or np.array_equal(arg, original, equal_nan=True):
            continue
        changed = ~((arg == original) | (np.isnan(arg) & np.isnan(original)))
        index = tuple(int(i) for i in np.argwhere(changed)[0])
        raise Falsified(
            f"{function} modified its argument {position + 1} in place: element {list(index)} was "
            f"{original[index]!r} and is now {arg[index]!r} ({int(changed.sum())} elements changed). "
            "Work on a copy (np.pad, astype and arithmetic make one; views and += do not)."
        )


def require_finite(outputs: list, function: str, reason: str) -> None:
    """No NaN or infinity; in a half format an infinity can be a right overflow (65504 is
    float16's largest value), which matches_reference judges, so only NaN is refused there."""
    for output in outputs:
        if output is None:
            continue
        bad = np.isnan(output) if is_half(output.dtype) else ~np.isfinite(output)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            raise Falsified(f"{function} returned {output[index]!r} at {list(index)} from {reason}")


def require_zero_gradients(
    candidate: Candidate, function: str, args: tuple, geometry: dict, names: tuple[str, ...]
) -> None:
    """A zero dL/dY must give exactly zero gradients."""
    result = candidate.call(function, *args, **geometry)
    values = unpack(result, function=function, names=names) if len(names) > 1 else (result,)
    for name, value in zip(names, values):
        if value is not None and np.any(np.asarray(value) != 0):
            index = tuple(int(i) for i in np.argwhere(np.asarray(value) != 0)[0])
            raise Falsified(
                f"{function} returned {name}{list(index)} = {np.asarray(value)[index]!r} for dy = 0; every gradient must be 0"
            )
