"""The contract every function keeps, whatever it computes.

It returns new arrays of the documented shapes and dtype, leaves its inputs
exactly as they were, gives the same bits when called twice, and (for
gradients) returns zeros for a zero dL/dY.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

from ..ops.signatures import argument_names
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
    arguments = argument_names(function)
    _require_unchanged(args, originals, function, arguments)
    for name, output in zip(names, first):
        if output is not None and output.dtype != dtype:
            raise Falsified(
                f"{function} returned {name} of dtype {output.dtype}; expected {dtype} (np.result_type of the inputs)"
            )
    for output, position in sorted(watched.shared):
        if output < len(names):
            raise Falsified(
                f"{function} returned {names[output]} sharing memory with its argument "
                f"{arguments[position]}: results must be new arrays"
            )
    second = _outputs(candidate.call(function, *args, **geometry), function, names, shapes)
    changed = _first_change(names, first, second)
    if changed:
        name, a, b, index = changed
        raise Falsified(
            f"{function} is not deterministic: two calls with the same inputs gave {name}{list(index)} = {a[index]!r}, then {b[index]!r}"
        )
    require_independent_calls(candidate, function, args, geometry, first, names, shapes)
    return first


def _first_change(names: tuple[str, ...], before: list, after: list) -> tuple | None:
    """(name, before, after, index) of the first output that differs between two calls."""
    for name, a, b in zip(names, before, after):
        if a is not None and not np.array_equal(a, b, equal_nan=True):
            index = np.argwhere(~((a == b) | (np.isnan(a) & np.isnan(b))))[0]
            return name, a, b, tuple(int(i) for i in index)
    return None


STATE_HINT = (
    "the result depends on an earlier call: a layer that keeps what it saw (the last forward's "
    "input kept for the backward, a cache keyed on the shape, a buffer reused between calls) "
    "gives this; compute every result from the arguments of the call itself"
)


def other_inputs_like(array: np.ndarray) -> np.ndarray:
    """An input of ``array``'s shape and dtype with other values: its values rolled by one."""
    return np.roll(array.ravel(), 1).reshape(array.shape)


def require_independent_calls(
    candidate: Candidate,
    function: str,
    args: tuple,
    geometry: dict,
    fresh: list,
    names: tuple[str, ...],
    shapes: tuple,
) -> None:
    """``function`` on ``args`` gives ``fresh`` again after calls on other inputs of the same
    shape, interleaved in an order drawn from the inputs: each argument in turn replaced, and
    (for a backward) the forward called on another x."""
    arguments = argument_names(function)
    disturbances: list[tuple[str, str, tuple]] = []
    for position, (name, arg) in enumerate(zip(arguments, args)):
        if isinstance(arg, np.ndarray) and arg.size > 1:
            other = other_inputs_like(arg)
            if not np.array_equal(other, arg, equal_nan=True):
                replaced = (*args[:position], other, *args[position + 1 :])
                disturbances.append((f"{function} on another {name}", function, replaced))
    op = function.removesuffix("_backward")
    x_position = arguments.index("x")
    if op != function and candidate.has(op) and args[x_position].size > 1:
        x = args[x_position]
        forward_args = (other_inputs_like(x), *args[x_position + 1 :])
        disturbances.append((f"{op} on another x", op, forward_args))
    seed = zlib.crc32(np.ascontiguousarray(args[x_position]).tobytes())
    for index in np.random.default_rng(seed).permutation(len(disturbances)):
        what, other_function, other_args = disturbances[index]
        candidate.call(other_function, *other_args, **geometry)
        again = _outputs(candidate.call(function, *args, **geometry), function, names, shapes)
        changed = _first_change(names, fresh, again)
        if changed:
            name, a, b, at = changed
            raise Falsified(
                f"{function} gave {name}{list(at)} = {b[at]!r} right after a call of {what} "
                f"of the same shape, where the same call gave {a[at]!r} before: a call "
                "must not depend on earlier calls",
                [STATE_HINT],
            )


def _outputs(result: Any, function: str, names: tuple[str, ...], shapes) -> list:
    values = unpack(result, function=function, names=names) if len(names) > 1 else (result,)
    outputs: list[np.ndarray | None] = []
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


def _require_unchanged(
    args: tuple, originals: list, function: str, arguments: tuple[str, ...]
) -> None:
    for position, (arg, original) in enumerate(zip(args, originals)):
        if original is None or np.array_equal(arg, original, equal_nan=True):
            continue
        changed = ~((arg == original) | (np.isnan(arg) & np.isnan(original)))
        index = tuple(int(i) for i in np.argwhere(changed)[0])
        raise Falsified(
            f"{function} modified its argument {arguments[position]} in place: element {list(index)} was "
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
