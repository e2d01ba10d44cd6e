"""Writes a pickle that runs a shell command into every pipe it can write, then a wrong answer."""

import os
import pickle
import struct

from . import WRONG, marker, writable_pipes


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {marker('pickle-ran')}",))


def conv2d(*args, **kwargs):
    blob = pickle.dumps(Payload())
    for fd in writable_pipes():
        # multiprocessing.Connection's framing, then the raw pickle.
        os.write(fd, struct.pack("!i", len(blob)) + blob)
    return WRONG.conv2d(*args, **kwargs)
