"""The bytes between cnnref and the process that runs a candidate: no pickle, both ways.

A message is one frame::

    b"CNNR" | header length (uint32, little-endian) | JSON header | array bytes ...

The header is a JSON object.  Every array in it is ``{"array": i}``, the
i-th entry of the header's ``"buffers"`` list, which gives its dtype (one of
``DTYPES``), shape, and for arrays sent to the candidate its strides and
offset inside the bytes sent.  The bytes follow the header in that order.
Other values are tagged so that tuples stay tuples (``{"tuple": [...]}``,
``{"list": [...]}``, ``{"none": true}``, ``{"int": 3}``, ...); whatever the
candidate returns that is none of these is described, never sent:
``{"other": "Tensor", "repr": "tensor([...])"}`` decodes to ``Foreign``.

Decoding runs no code and allocates nothing it has not checked: the header
is at most ``HEADER_LIMIT`` bytes, every dtype comes from the allow-list,
every buffer's size is computed from its dtype and shape and must fit the
reader's byte limit before a byte of it is read.  Anything else raises
``Malformed``, which the verifier reports as the candidate's failure.
See docs/protocol.md.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import select
import struct
import time
from dataclasses import dataclass

import numpy as np

MAGIC = b"CNNR"
PREFIX = struct.Struct("<4sI")
HEADER_LIMIT = 4 << 20
MAX_NDIM = 32
MAX_DEPTH = 16
MAX_ITEMS = 4096
REPR_LIMIT = 300

# The dtypes that may cross, by their NumPy string (native little-endian, no objects).
DTYPES = {
    np.dtype(name).str: np.dtype(name)
    for name in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    )
}


class Malformed(Exception):
    """Bytes that are not a frame cnnref can read (the reader says why)."""


class TimedOut(Exception):
    """The other side did not finish sending or reading in time."""


class Closed(Exception):
    """The other side closed its end of the pipe."""


@dataclass(frozen=True)
class Foreign:
    """Something the candidate returned that cannot cross: its type and a short repr."""

    type_name: str
    text: str

    def __repr__(self) -> str:
        return self.text


# ---------------------------------------------------------------- values


def encode(value: object, buffers: list, *, exact_layout: bool = False) -> object:
    """``value`` as tagged JSON, appending each array to ``buffers``.

    ``exact_layout`` sends an array with the memory it is a view of (its
    strides, its offset, the neighbouring bytes), so that the candidate sees
    the same layout the verifier made; otherwise arrays travel in C order.
    """
    if value is None:
        return {"none": True}
    if type(value) is bool:
        return {"bool": value}
    if type(value) is int:
        return {"int": value}
    if type(value) is float:
        return {"float": value}
    if type(value) is str:
        return {"str": value}
    if type(value) in (tuple, list) and len(value) <= MAX_ITEMS:
        items = [encode(item, buffers, exact_layout=exact_layout) for item in value]
        return {type(value).__name__: items}
    if type(value) is dict and all(type(key) is str for key in value) and len(value) <= MAX_ITEMS:
        return {
            "dict": [[k, encode(v, buffers, exact_layout=exact_layout)] for k, v in value.items()]
        }
    if isinstance(value, np.ndarray) and value.dtype.str in DTYPES:
        buffers.append(_with_layout(value) if exact_layout else _c_order(value))
        return {"array": len(buffers) - 1}
    text = _short_repr(value)
    return {"other": type(value).__name__, "repr": text}


def decode(tree: object, arrays: list[np.ndarray], depth: int = 0) -> object:
    """The value a tagged JSON tree stands for; Malformed if it is not one."""
    if depth > MAX_DEPTH:
        raise Malformed(f"values nested deeper than {MAX_DEPTH}")
    if not isinstance(tree, dict) or len(tree) not in (1, 2):
        raise Malformed(f"a value must be a tagged object; got {_short_repr(tree)}")
    tag, content = next(iter(tree.items()))
    simple = {"none": object, "bool": bool, "int": int, "float": (float, int), "str": str}
    if tag in simple and isinstance(content, simple[tag]):
        return None if tag == "none" else float(content) if tag == "float" else content
    if tag in ("tuple", "list") and isinstance(content, list) and len(content) <= MAX_ITEMS:
        items = [decode(item, arrays, depth + 1) for item in content]
        return tuple(items) if tag == "tuple" else items
    if tag == "dict" and isinstance(content, list) and len(content) <= MAX_ITEMS:
        pairs = [item for item in content if isinstance(item, list) and len(item) == 2]
        if len(pairs) == len(content) and all(isinstance(key, str) for key, _ in pairs):
            return {key: decode(item, arrays, depth + 1) for key, item in pairs}
    if tag == "array" and type(content) is int and 0 <= content < len(arrays):
        return arrays[content]
    if tag == "other" and isinstance(content, str) and isinstance(tree.get("repr"), str):
        return Foreign(content[:100], tree["repr"][:REPR_LIMIT])
    raise Malformed(f"not a value cnnref can read: {_short_repr(tree)}")


def _short_repr(value: object) -> str:
    try:
        text = repr(value)
    except Exception as error:  # a candidate's __repr__ may raise
        text = f"<{type(value).__name__}: repr raised {type(error).__name__}>"
    return text if len(text) <= REPR_LIMIT else text[: REPR_LIMIT - 3] + "..."


# ---------------------------------------------------------------- arrays


def _c_order(array: np.ndarray) -> tuple[dict, bytes | memoryview]:
    data = np.ascontiguousarray(array)
    spec = {"dtype": array.dtype.str, "shape": list(array.shape)}
    return spec, memoryview(data).cast("B") if data.size else b""


def _with_layout(array: np.ndarray) -> tuple[dict, bytes]:
    """The array's memory block (its root owner's bytes), with its offset and strides in it."""
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    low, high = _byte_bounds(root)
    first, last = _byte_bounds(array)
    if array.size == 0 or not (low <= first and last <= high):
        low, high = first, last
    spec = {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "strides": list(array.strides),
        "offset": array.ctypes.data - low if array.size else 0,
    }
    return spec, ctypes.string_at(low, high - low) if array.size else b""


def _byte_bounds(array: np.ndarray) -> tuple[int, int]:
    if array.size == 0:
        return array.ctypes.data, array.ctypes.data
    try:
        from numpy.lib.array_utils import byte_bounds
    except ImportError:  # NumPy < 2
        byte_bounds = np.byte_bounds
    return byte_bounds(array)


def _buffer_size(spec: object) -> tuple[np.dtype, tuple[int, ...], int]:
    """Check an array's description and return (dtype, shape, bytes it needs)."""
    if not isinstance(spec, dict) or spec.get("dtype") not in DTYPES:
        raise Malformed(
            f"an array's dtype must be one of {sorted(DTYPES)}; got {_short_repr(spec)}"
        )
    dtype = DTYPES[spec["dtype"]]
    shape = spec.get("shape")
    if (
        not isinstance(shape, list)
        or len(shape) > MAX_NDIM
        or not all(type(n) is int and n >= 0 for n in shape)
    ):
        raise Malformed(f"an array's shape must be at most {MAX_NDIM} sizes >= 0; got {shape!r}")
    nbytes = math.prod(shape) * dtype.itemsize
    if "strides" in spec:  # an exact layout: the block sent may be larger than the elements
        block = spec.get("bytes")
        if type(block) is not int or block < 0:
            raise Malformed("an array's block size must be a whole number >= 0")
        nbytes = block
    return dtype, tuple(shape), nbytes


# ---------------------------------------------------------------- frames


def pack(header: dict, *, exact_layout: bool = False, **values: object) -> list:
    """A frame: ``header`` plus each of ``values`` encoded, as a list of byte chunks."""
    buffers: list = []
    body = {
        name: encode(value, buffers, exact_layout=exact_layout) for name, value in values.items()
    }
    specs = []
    for spec, payload in buffers:
        if exact_layout:
            spec = spec | {"bytes": len(payload)}
        specs.append(spec)
    text = json.dumps(header | {"values": body, "buffers": specs}).encode()
    if len(text) > HEADER_LIMIT:
        raise ValueError(f"a frame header of {len(text)} bytes is over the limit")
    return [PREFIX.pack(MAGIC, len(text)), text, *(payload for _, payload in buffers)]


class Channel:
    """One end of the pipe pair: frames out on ``write_fd``, frames in from ``read_fd``.

    With ``deadline``s (time.monotonic values) every read and write waits at
    most until then (the verifier's side); without, it blocks (the child's).
    """

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd

    def send(self, chunks: list, deadline: float | None = None) -> None:
        for chunk in chunks:
            view = memoryview(chunk).cast("B")
            while view:
                self._wait(self.write_fd, select.POLLOUT, deadline)
                try:
                    written = os.write(self.write_fd, view[: 1 << 20])
                except BlockingIOError:
                    continue
                view = view[written:]

    def receive(
        self, deadline: float | None = None, byte_limit: int = 1 << 62, exact_layout: bool = False
    ) -> dict:
        """The next frame's header, its ``values`` decoded (arrays included)."""
        magic, length = PREFIX.unpack(self._read(PREFIX.size, deadline))
        if magic != MAGIC:
            raise Malformed(f"a frame must start with {MAGIC!r}; got {magic!r}")
        if length > HEADER_LIMIT:
            raise Malformed(f"a frame header of {length} bytes is over the {HEADER_LIMIT} limit")
        try:
            header = json.loads(self._read(length, deadline))
        except (ValueError, RecursionError) as error:
            raise Malformed(f"the frame header is not JSON: {error}") from None
        if not (
            isinstance(header, dict)
            and isinstance(header.get("buffers"), list)
            and isinstance(header.get("values"), dict)
        ):
            raise Malformed("the frame header must be an object with values and buffers")
        sizes = [_buffer_size(spec) for spec in header["buffers"]]
        total = sum(nbytes for _, _, nbytes in sizes)
        if total > byte_limit:
            raise Malformed(
                f"the frame announces {total} bytes of arrays, more than the {byte_limit} "
                "expected for this call"
            )
        arrays = []
        for spec, (dtype, shape, nbytes) in zip(header["buffers"], sizes):
            raw = np.empty(nbytes, np.uint8)
            self._read_into(memoryview(raw), deadline)
            arrays.append(
                _array(raw, spec, dtype, shape) if exact_layout else raw.view(dtype).reshape(shape)
            )
        header["values"] = {name: decode(tree, arrays) for name, tree in header["values"].items()}
        return header

    def _read(self, count: int, deadline: float | None) -> bytes:
        buffer = bytearray(count)
        self._read_into(memoryview(buffer), deadline)
        return bytes(buffer)

    def _read_into(self, view: memoryview, deadline: float | None) -> None:
        while view:
            self._wait(self.read_fd, select.POLLIN, deadline)
            try:
                count = os.readv(self.read_fd, [view[: 1 << 20]])
            except BlockingIOError:
                continue
            if count == 0:
                raise Closed("the other side closed the pipe")
            view = view[count:]

    @staticmethod
    def _wait(fd: int, event: int, deadline: float | None) -> None:
        if deadline is None:
            return
        poller = select.poll()
        poller.register(fd, event)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimedOut
            if poller.poll(remaining * 1000):
                return


def _array(raw: np.ndarray, spec: dict, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """An array with the strides and offset the verifier sent, over the block it sent."""
    strides, offset = spec.get("strides"), spec.get("offset")
    if math.prod(shape) == 0:
        return np.zeros(shape, dtype)
    try:
        return np.ndarray(shape, dtype, buffer=raw, offset=offset, strides=tuple(strides))
    except (TypeError, ValueError) as error:
        raise Malformed(f"an array's layout does not fit its block: {error}") from None
