"""Announces a reply of a terabyte, hoping the verifier allocates it."""

import json
import os
import struct

from . import writable_pipes


def conv2d(*args, **kwargs):
    header = json.dumps(
        {
            "op": "returned",
            "id": 1,
            "shared": [],
            "values": {"value": {"array": 0}},
            "buffers": [{"dtype": "<f8", "shape": [1 << 20, 1 << 20]}],
        }
    ).encode()
    for fd in writable_pipes():
        os.write(fd, b"CNNR" + struct.pack("<I", len(header)) + header)
    os._exit(0)
