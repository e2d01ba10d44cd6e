"""Starts twenty processes in its own group that outlive every call."""

import os
import sys

from . import WRONG

TAG = "cnnref-forger-forks"


def conv2d(*args, **kwargs):
    for _ in range(20):
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", TAG])
    return WRONG.conv2d(*args, **kwargs)
