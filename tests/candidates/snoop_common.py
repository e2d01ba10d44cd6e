"""What the snooping candidates share (copied beside each as ``_common.py``).

A snooping candidate tries, at import, to reach what belongs to the grader, and
reports each attempt through the one channel every report prints: its
``conv2d`` raises with the findings.  Each finding is ``held: <error>`` when
the attempt was refused, ``LEAKED: <what it got>`` when it was not.  The
targets (paths, ports, the verifier's pid) come from ``targets.json`` in the
candidate's own package, which the test writes.
"""

import json
import os

with open(os.path.join(os.path.dirname(__file__), "targets.json")) as _file:
    TARGETS = json.load(_file)
FINDINGS: dict[str, str] = {}


def attempt(name: str, action) -> None:
    try:
        got = action()
    except BaseException as error:  # every refusal is a finding
        FINDINGS[name] = f"held: {type(error).__name__}"
    else:
        FINDINGS[name] = f"LEAKED: {str(got)[:80]}"


def read(path: str) -> str:
    with open(path) as file:
        return file.read()


def conv2d(*args, **kwargs):
    raise RuntimeError("snooped " + json.dumps(FINDINGS, sort_keys=True))
