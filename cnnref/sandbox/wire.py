"""The bytes between cnnref and the process that runs a candidate: no pickle, both ways.

A message is one frame::

    b"CNNR" | header length (uint32, little-endian) | JSON header | array bytes ...

The header is a JSON object.  Its ``"values"`` are JSON: None, bools, ints,
floats and strings as themselves, containers tagged so that tuples stay
tuples (``{"tuple": [...]}``, ``{"list": [...]}``, ``{"dict": {...}}``), and
every array ``{"array": i}``, the i-th entry of the header's ``"buffers"``
list, which gives its dtype (one of ``DTYPES``) and shape (and, for arrays
sent to the candidate, its strides and place in a memory block).  The
arrays' bytes follow the header, in C order.  Whatever the candidate returns
that is none of these is described, never sent: ``{"other": "Tensor",
"repr": "tensor([...])"}`` decodes to ``Foreign``.

Decoding runs no code and allocates nothing it has not checked: the header
is at most ``HEADER_LIMIT`` bytes, every dtype comes from the allow-list,
every buffer's size is computed from its dtype and shape and must fit the
reader's byte limit before a byte of it is read.  Anything else raises
``Malformed``, which the verifier reports as the candidate's failure.
See docs/protocol.md.
"""

from __future__ import annotations

import json
import math
import os
import select
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..precision import BFLOAT16

MAGIC = b"CNNR"
PREFIX = struct.Struct("<4sI")
HEADER_LIMIT = 4 << 20
MAX_NDIM = 32
MAX_DEPTH = 16
MAX_ITEMS = 4096
REPR_LIMIT = 300
# How long the verifier keeps trying to read before it sleeps in poll(), where another core
# can answer meanwhile: a wake-up costs about a tenth of a millisecond on these machines.
SPIN_SECONDS = 0.0003 if (os.cpu_count() or 1) > 1 else 0.0
# Values JSON carries as themselves (a float stays a float: JSON writes 1.0, NaN, Infinity).
SCALARS = (type(None), bool, int, float, str)

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
# bfloat16 has no NumPy type string of its own (ml_dtypes' reads "<V2", any 2 raw bytes), so
# it crosses under this name: 1 sign bit, 8 exponent bits, 7 stored significand bits,
# little-endian, the upper half of a float32's bits (docs/protocol.md).
BFLOAT16_NAME = "bfloat16"
DTYPES[BFLOAT16_NAME] = BFLOAT16


def wire_dtype(dtype: np.dtype) -> str:
    """The name ``dtype`` crosses under: its NumPy string, or "bfloat16"."""
    return BFLOAT16_NAME if dtype == BFLOAT16 else dtype.str


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


class _Outgoing:
    """The arrays of one frame, each sent once however often the values name it, and how
    many more container items and string characters the frame may still hold."""

    def __init__(self, exact_layout: bool) -> None:
        self.exact_layout = exact_layout
        self.room = HEADER_LIMIT // 64  # a number or a character takes at most 64 bytes
        self.specs: list[dict] = []
        self.payloads: list = []
        self._index: dict[int, int] = {}
        self._keep: list[np.ndarray] = []  # ids stay unique while the frame is built

    def add(self, array: np.ndarray) -> int:
        if id(array) not in self._index:
            spec, payload = _with_layout(array) if self.exact_layout else _c_order(array)
            self._index[id(array)] = len(self.specs)
            self.specs.append(spec)
            self.payloads.append(payload)
            self._keep.append(array)
        return self._index[id(array)]


def encode(value: object, arrays: _Outgoing) -> object:
    """``value`` as JSON; its arrays are added to ``arrays``."""
    for container in (tuple, list):  # a namedtuple travels as the tuple it is
        if isinstance(value, container) and type(value) is not container:
            value = container(value)
    kind = type(value)
    sized = kind in (str, tuple, list, dict)
    size = len(value) if sized and isinstance(value, (str, tuple, list, dict)) else 1
    if size > min(arrays.room, MAX_ITEMS if kind is not str else arrays.room):
        return {"other": kind.__name__, "repr": f"(a {kind.__name__} too large to send)"}
    arrays.room -= size
    if kind in SCALARS:
        return value
    if isinstance(value, (tuple, list)):  # exactly a tuple or a list: subclasses were made so
        return {kind.__name__: [encode(item, arrays) for item in value]}
    if isinstance(value, dict) and kind is dict and all(type(key) is str for key in value):
        return {"dict": {key: encode(item, arrays) for key, item in value.items()}}
    if isinstance(value, np.ndarray):
        if wire_dtype(value.dtype) in DTYPES:
            return {"array": arrays.add(value)}
        kind_name = f"ndarray of dtype {value.dtype}"  # object, string, structured: not sent
        return {"other": kind_name, "repr": _short_repr(value)}
    return {"other": kind.__name__, "repr": _short_repr(value)}


def shared_memory(result: object, args: Sequence) -> list[list[int]]:
    """A reply's ``shared``: [output, argument] pairs that share memory (an output is an item
    of a tuple or list result, or 0 for a single value)."""
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    return [
        [i, j]
        for i, output in enumerate(outputs)
        for j, arg in enumerate(args)
        if isinstance(output, np.ndarray)
        and isinstance(arg, np.ndarray)
        and np.may_share_memory(output, arg)  # a bounds check first: most outputs are new
        and np.shares_memory(output, arg)
    ]


def decode(tree: object, arrays: list[np.ndarray], depth: int = 0) -> object:
    """The value a JSON tree stands for; Malformed if it is not one."""
    if type(tree) in SCALARS:
        return tree
    if depth >= MAX_DEPTH:
        raise Malformed(f"values nested deeper than {MAX_DEPTH}")
    if type(tree) is dict and len(tree) == 1:
        ((tag, content),) = tree.items()
        if tag in ("tuple", "list") and type(content) is list and len(content) <= MAX_ITEMS:
            items = [decode(item, arrays, depth + 1) for item in content]
            return tuple(items) if tag == "tuple" else items
        if tag == "dict" and type(content) is dict and len(content) <= MAX_ITEMS:
            return {key: decode(item, arrays, depth + 1) for key, item in content.items()}
        if tag == "array" and type(content) is int and 0 <= content < len(arrays):
            return arrays[content]
    if type(tree) is dict and tree.keys() == {"other", "repr"}:
        name, text = tree["other"], tree["repr"]
        if type(name) is str and type(text) is str:
            return Foreign(name[:100], text[:REPR_LIMIT])
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
    spec = {"dtype": wire_dtype(array.dtype), "shape": list(array.shape)}
    # As bytes: a bfloat16 array exports no buffer of its own dtype.
    return spec, data.reshape(-1).view(np.uint8).data if data.size else b""


def _with_layout(array: np.ndarray) -> tuple[dict, bytes | memoryview]:
    """The elements in C order, with the array's strides and its offset in the memory block
    it is a view of (its root owner), so that the candidate's process can rebuild the view."""
    spec: dict[str, Any]
    if array.base is None and (array.flags.c_contiguous or array.flags.f_contiguous):
        spec = {
            "dtype": wire_dtype(array.dtype),
            "shape": list(array.shape),
            "strides": list(array.strides),
        }
        return spec | {"offset": 0, "block": array.nbytes}, _c_order(array)[1]
    root = array
    while isinstance(root.base, np.ndarray):
        root = root.base
    low, high = _byte_bounds(root)
    first, last = _byte_bounds(array)
    if array.size == 0 or not (low <= first and last <= high):
        low, high = first, last
    spec = {
        "dtype": wire_dtype(array.dtype),
        "shape": list(array.shape),
        "strides": list(array.strides),
        "offset": array.ctypes.data - low,
        "block": high - low,
    }
    return spec, _c_order(array)[1]


def _byte_bounds(array: np.ndarray) -> tuple[int, int]:
    if array.size == 0:
        return array.ctypes.data, array.ctypes.data
    try:
        from numpy.lib.array_utils import byte_bounds
    except ImportError:  # NumPy < 2
        byte_bounds = np.byte_bounds  # type: ignore[attr-defined]  # in NumPy 1's stubs only
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
    return dtype, tuple(shape), math.prod(shape) * dtype.itemsize


# ---------------------------------------------------------------- frames


def pack(header: dict, *, exact_layout: bool = False, **values: object) -> list:
    """A frame: ``header`` plus each of ``values`` encoded, as a list of byte chunks.

    ``exact_layout`` also sends each array's strides and its offset in the
    memory block it is a view of, so that the candidate gets the same layout
    (Fortran order, a strided or reversed view).
    """
    arrays = _Outgoing(exact_layout)
    body = {name: encode(value, arrays) for name, value in values.items()}
    text = json.dumps(header | {"values": body, "buffers": arrays.specs}).encode()
    if len(text) > HEADER_LIMIT:
        raise ValueError(f"a frame header of {len(text)} bytes is over the limit")
    return [PREFIX.pack(MAGIC, len(text)) + text, *arrays.payloads]


class Channel:
    """One end of the pipe pair: frames out on ``write_fd``, frames in from ``read_fd``.

    With ``deadline``s (time.monotonic values) every read and write waits at
    most until then (the verifier's side); without, it blocks (the child's).
    """

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd
        # Each read also takes up to 64 KiB of what follows (the next replies of a batch),
        # kept in ``_pending`` for the next frame: one system call per few small frames.
        self._spare = bytearray(1 << 16)
        self._pending = bytearray()

    def send(self, chunks: list, deadline: float | None = None) -> None:
        views = [view for chunk in chunks if (view := memoryview(chunk).cast("B"))]
        while views:
            try:
                written = os.writev(self.write_fd, views[:1024])
            except BlockingIOError:
                self._wait(self.write_fd, select.POLLOUT, deadline)
                continue
            while written and written >= len(views[0]):
                written -= len(views.pop(0))
            if written:
                views[0] = views[0][written:]

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
            self._read_into(raw.data, deadline)
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
        if self._pending:
            taken = min(len(view), len(self._pending))
            view[:taken] = self._pending[:taken]
            del self._pending[:taken]
            view = view[taken:]
        spin_until = time.monotonic() + SPIN_SECONDS
        while view:
            try:
                count = os.readv(self.read_fd, [view, self._spare])
            except BlockingIOError:
                if deadline is not None and time.monotonic() < spin_until:
                    continue  # a small call's reply comes within this: cheaper than a wake-up
                self._wait(self.read_fd, select.POLLIN, deadline)
                continue
            if count == 0:
                raise Closed("the other side closed the pipe")
            if count > len(view):
                self._pending += self._spare[: count - len(view)]
                count = len(view)
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
    """The view the verifier sent: its elements at its strides and offset in a block of the
    size of the verifier's; the bytes around the view are 0xFF (NaN in any float dtype)."""
    elements = raw.view(dtype).reshape(shape)
    if math.prod(shape) == 0:
        return elements
    block = np.empty(spec["block"], np.uint8)
    view = np.ndarray(shape, dtype, buffer=block, offset=spec["offset"], strides=spec["strides"])
    if elements.nbytes < block.nbytes:
        block.fill(0xFF)
    view[...] = elements
    return view
