"""At import, writes its own `ready` frame, with a padded list of fences, into the reply pipe."""

import json
import os
import stat
import struct

from ._common import FINDINGS, conv2d  # noqa: F401

FORGED = "forged: this candidate was fenced by nothing at all"
header = json.dumps(
    {"op": "ready", "functions": ["conv2d"], "fences": [FORGED], "values": {}, "buffers": []}
).encode()
for name in os.listdir("/proc/self/fd"):
    fd = int(name)
    try:
        if stat.S_ISFIFO(os.fstat(fd).st_mode) and fd > 2:
            os.write(fd, b"CNNR" + struct.pack("<I", len(header)) + header)
            FINDINGS[f"fd {fd}"] = "wrote a ready frame"
    except OSError:
        continue
