"""Leaves files behind: in /dev/shm, in /tmp, and shared memory by name."""

import os

from ._common import TARGETS, attempt, conv2d  # noqa: F401

tag = TARGETS["tag"]


def leave(path):
    with open(path, "w") as file:
        file.write("left behind")
    return path


def shared_memory():
    from multiprocessing import shared_memory as shm

    block = shm.SharedMemory(name=f"cnnref-snoop-{tag}-block", create=True, size=4096)
    return block.name


attempt("/dev/shm file", lambda: leave(f"/dev/shm/cnnref-snoop-{tag}"))
attempt("/tmp file", lambda: leave(f"/tmp/cnnref-snoop-{tag}"))
attempt("shared memory", shared_memory)
leave(os.path.join(os.environ["TMPDIR"], f"cnnref-snoop-{tag}"))  # allowed, removed afterwards
