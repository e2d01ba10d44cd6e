"""Connects to a TCP port on loopback, sends UDP, and connects to the grader's UNIX socket."""

import socket

from ._common import TARGETS, attempt, conv2d  # noqa: F401


def tcp():
    with socket.create_connection(("127.0.0.1", TARGETS["tcp_port"]), timeout=2) as connection:
        connection.sendall(b"snooped")
        return "connected"


def udp():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return sock.sendto(b"snooped", ("127.0.0.1", TARGETS["tcp_port"]))


def unix():
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(TARGETS["unix_socket"])
        return "connected"


attempt("tcp", tcp)
attempt("udp", udp)
attempt("unix socket", unix)
