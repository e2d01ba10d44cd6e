"""Writes beside its own working directory and into the test's directory."""

from . import WRONG, marker


def conv2d(*args, **kwargs):
    with open("scratch.txt", "w") as scratch:  # its own working directory: allowed
        scratch.write("ok")
    with open(marker("written-outside"), "w") as outside:
        outside.write("escaped")
    return WRONG.conv2d(*args, **kwargs)
