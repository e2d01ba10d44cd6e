"""A protocol client that answers the handshake, then misbehaves as told: ``python
scripted_client.py MODE``.  Standard library only, as a client in another language would be.

MODE: ``garbage`` (bytes that are not a frame), ``exit`` (exits with status 3 mid-call),
``hang`` (never answers), ``wrong-id`` (a reply to another call), ``raise`` (a ValueError
reply), ``partial`` (implements max_pool2d only and declares groups unsupported).
"""

from __future__ import annotations

import json
import struct
import sys
import time


def send(header: dict) -> None:
    text = json.dumps(header | {"values": header.get("values", {}), "buffers": []}).encode()
    sys.stdout.buffer.write(b"CNNR" + struct.pack("<I", len(text)) + text)
    sys.stdout.buffer.flush()


def receive() -> dict | None:
    prefix = sys.stdin.buffer.read(8)
    if len(prefix) < 8:
        return None
    header = json.loads(sys.stdin.buffer.read(struct.unpack("<I", prefix[4:])[0]))
    sizes = {"<f8": 8, "<f4": 4}
    for spec in header["buffers"]:
        count = 1
        for n in spec["shape"]:
            count *= n
        sys.stdin.buffer.read(count * sizes[spec["dtype"]])
    return header


def main(mode: str) -> None:
    if mode == "partial":
        send({"op": "ready", "functions": ["max_pool2d"], "unsupported": ["groups"]})
    else:
        send({"op": "ready", "functions": ["conv2d"]})
    while (request := receive()) is not None and request["op"] == "calls":
        print(f"serving {request['function']} in mode {mode}", file=sys.stderr, flush=True)
        if mode == "garbage":
            sys.stdout.buffer.write(b"this is not a frame\n" * 4)
            sys.stdout.buffer.flush()
        elif mode == "exit":
            sys.exit(3)
        elif mode == "hang":
            time.sleep(3600)
        elif mode == "wrong-id":
            send(
                {
                    "op": "raised",
                    "id": request["id"] + 100,
                    "error_type": "E",
                    "message": "",
                    "traceback": "",
                }
            )
        else:
            message = "this client refuses every call"
            send(
                {
                    "op": "raised",
                    "id": request["id"],
                    "error_type": "ValueError",
                    "message": message,
                    "traceback": "",
                }
            )


if __name__ == "__main__":
    main(sys.argv[1])
