"""At import, answers the verifier's load request itself, with a reply of the wrong shape."""

import json
import os
import struct

from . import WRONG, writable_pipes

header = json.dumps({"op": "ready", "functions": 5, "values": {}, "buffers": []}).encode()
for fd in writable_pipes():
    os.write(fd, b"CNNR" + struct.pack("<I", len(header)) + header)

conv2d = WRONG.conv2d
