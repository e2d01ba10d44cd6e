"""The frames between cnnref and a candidate's process: faithful both ways, and safe to read."""

from __future__ import annotations

import json
import os
import struct
import threading
import time

import numpy as np
import pytest

from cnnref.sandbox import wire
from cnnref.strategies.layouts import LAYOUTS, with_layout


@pytest.fixture
def pipe():
    """A Channel reading what ``write`` puts in a pipe (written from a thread: pipes are small)."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    writers = []

    def write(data: bytes | list) -> None:
        chunks = data if isinstance(data, list) else [data]
        thread = threading.Thread(target=wire.Channel(-1, write_fd).send, args=(chunks,))
        thread.start()
        writers.append(thread)

    yield wire.Channel(read_fd, -1), write
    for thread in writers:
        thread.join(timeout=5)
    os.close(read_fd)
    os.close(write_fd)


def deadline() -> float:
    return time.monotonic() + 5


@pytest.mark.parametrize("layout", LAYOUTS)
def test_an_input_arrives_with_its_layout_and_its_neighbours(pipe, layout: str) -> None:
    channel, write = pipe
    x = with_layout(np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5), layout)
    write(wire.pack({"op": "call"}, exact_layout=True, args=(x, None, (1, 2)), kwargs={"k": 3}))
    values = channel.receive(deadline(), exact_layout=True)["values"]
    got, none, pair = values["args"]
    assert np.array_equal(got, x) and got.dtype == x.dtype and got.strides == x.strides
    assert (none, pair, values["kwargs"]) == (None, (1, 2), {"k": 3})
    if layout == "strided":  # a block of the host's size around the view, NaN between
        block = got.base.view(x.dtype)
        assert block.size == x.base.size and np.isnan(block).sum() == x.base.size - x.size


def test_a_result_arrives_as_what_it_is(pipe) -> None:
    channel, write = pipe
    value = (np.ones((2, 2)), [1.5, np.float64(2.0)], "text", True)
    write(wire.pack({"op": "returned"}, value=value))
    got = channel.receive(deadline())["values"]["value"]
    assert isinstance(got, tuple) and np.array_equal(got[0], np.ones((2, 2)))
    assert got[1][0] == 1.5 and isinstance(got[1][1], wire.Foreign)
    assert got[1][1].type_name == "float64" and got[2:] == ("text", True)


def test_a_namedtuple_arrives_as_the_tuple_it_is(pipe) -> None:
    from collections import namedtuple

    channel, write = pipe
    grads = namedtuple("Grads", "dx dw db")(np.ones(2), np.zeros(3), None)
    write(wire.pack({"op": "returned"}, value=grads))
    got = channel.receive(deadline())["values"]["value"]
    assert type(got) is tuple and np.array_equal(got[0], np.ones(2)) and got[2] is None


def frame(header: dict, body: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return wire.PREFIX.pack(wire.MAGIC, len(text)) + text + body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x80\x04\x95junk-pickle", "must start with b'CNNR'"),
        (wire.PREFIX.pack(wire.MAGIC, 1 << 31), "over the"),
        (wire.PREFIX.pack(wire.MAGIC, 5) + b"{nope", "not JSON"),
        (frame({"values": {}, "buffers": [{"dtype": "|O", "shape": [1]}]}), "dtype must be one of"),
        (frame({"values": {}, "buffers": [{"dtype": "<f8", "shape": [-1]}]}), "shape must be"),
        (frame({"values": {}, "buffers": [{"dtype": "<f8", "shape": [1 << 40]}]}), "more than"),
        (frame({"values": {"v": {"eval": "__import__('os')"}}, "buffers": []}), "not a value"),
        (frame({"values": {"v": {"array": 3}}, "buffers": []}), "not a value"),
        (frame({"values": {"v": json.loads("[" * 50 + "]" * 50)}, "buffers": []}), "not a value"),
        (frame({"buffers": []}), "values and buffers"),
    ],
)
def test_a_malformed_frame_is_refused_before_anything_is_allocated(pipe, data, message) -> None:
    channel, write = pipe
    write(data)
    with pytest.raises(wire.Malformed, match=message):
        channel.receive(deadline(), byte_limit=1 << 20)


def test_a_frame_cut_short_is_a_closed_pipe_and_silence_is_a_timeout() -> None:
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    channel = wire.Channel(read_fd, -1)
    os.write(write_fd, frame({"values": {}, "buffers": []})[:6])
    with pytest.raises(wire.TimedOut):
        channel.receive(time.monotonic() + 0.2)
    os.close(write_fd)
    with pytest.raises(wire.Closed):
        wire.Channel(read_fd, -1).receive(time.monotonic() + 1)
    os.close(read_fd)


def test_deeply_nested_values_are_refused() -> None:
    tree: dict = {"none": True}
    for _ in range(wire.MAX_DEPTH + 2):
        tree = {"tuple": [tree]}
    with pytest.raises(wire.Malformed, match="deeper"):
        wire.decode(tree, [])


def test_prefix_is_four_magic_bytes_and_a_little_endian_length() -> None:
    assert wire.PREFIX.pack(wire.MAGIC, 258) == b"CNNR" + struct.pack("<I", 258)
