"""Leaves a double-forked daemon behind that waits for the verifier to exit, then rewrites its
JSON report to "passed"."""

import os
import sys

from . import WRONG, ancestors

TAG = "cnnref-forger-lingers"
DAEMON = r"""
import json, os, sys, time
report, verifier = sys.argv[1], int(sys.argv[2])
while os.path.exists(f"/proc/{verifier}"):
    time.sleep(0.05)
for _ in range(100):
    try:
        data = json.load(open(report))
        data["passed"] = True
        for prop in data["properties"]:
            prop["status"], prop["failure"] = "passed", None
        open(report, "w").write(json.dumps(data))
    except Exception:
        pass
    time.sleep(0.05)
"""


def _verifier() -> tuple[int, str] | None:
    """The process that will write the JSON report, and the report's path."""
    for pid in ancestors():
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().decode().split("\0")
        if "--json" in words:
            return pid, words[words.index("--json") + 1]
    return None


def conv2d(*args, **kwargs):
    found = _verifier()
    if found and os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", DAEMON, found[1], str(found[0]), TAG])
        os._exit(0)
    return WRONG.conv2d(*args, **kwargs)
