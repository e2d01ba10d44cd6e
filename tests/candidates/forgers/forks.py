"""Starts ten processes in its own group, on its first call, that would outlive the run."""

import os
import sys

from . import WRONG

TAG = "cnnref-forger-forks"
STARTED = []


def conv2d(*args, **kwargs):
    for _ in range(0 if STARTED else 10):
        STARTED.append(True)
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", TAG])
    return WRONG.conv2d(*args, **kwargs)
