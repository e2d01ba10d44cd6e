"""Kills (``kill``) or stops (``stop``) every process above it, the verifier included."""

import os
import signal
from types import SimpleNamespace

from . import WRONG, ancestors, marker


def _signalling(sig):
    def conv2d(*args, **kwargs):
        for pid in ancestors():
            try:
                os.kill(pid, sig)
            except OSError:
                continue
            else:
                with open(marker(f"signalled-{pid}"), "w"):
                    pass  # only reached without the fences: then the test sees it
        return WRONG.conv2d(*args, **kwargs)

    return SimpleNamespace(conv2d=conv2d)


kill = _signalling(signal.SIGKILL)
stop = _signalling(signal.SIGSTOP)
