"""Answers with a hand-made reply frame that claims the property passed, then hides the real one."""

import json
import os
import struct

from . import WRONG, writable_pipes

CALLS = [0]


def conv2d(*args, **kwargs):
    CALLS[0] += 1
    header = json.dumps(
        {
            "op": "outcome",
            "id": CALLS[0],
            "kind": "passed",
            "passed": True,
            "values": {"value": {"other": "passed", "repr": "PASSED"}},
            "buffers": [],
        }
    ).encode()
    for fd in writable_pipes():
        os.write(fd, b"CNNR" + struct.pack("<I", len(header)) + header)
    return WRONG.conv2d(*args, **kwargs)
