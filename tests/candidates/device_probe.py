"""Opens the GPU's device nodes and initialises the CUDA driver, and says how it went.

Its ``conv2d`` raises with one finding per node ("opened" or the error) and the
driver's ``cuInit`` result: with ``--device cuda`` the nodes open and cuInit
returns 0; without, the read and write fences refuse them.
"""

import ctypes
import glob
import json
import os


def _probe() -> dict:
    found = {}
    for node in sorted(glob.glob("/dev/nvidia*")):
        if os.path.isdir(node):
            continue
        try:
            os.close(os.open(node, os.O_RDWR))
            found[node] = "opened"
        except OSError as error:
            found[node] = type(error).__name__
    try:
        found["cuInit"] = ctypes.CDLL("libcuda.so.1").cuInit(0)
    except OSError as error:
        found["cuInit"] = f"{type(error).__name__}: {error}"
    return found


def conv2d(*args, **kwargs):
    raise RuntimeError("probed " + json.dumps(_probe()))
