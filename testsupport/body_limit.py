"""Time how fast a server refuses a body over its limit, over a real socket."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit


def refusal_seconds(url: str, path: str, content_type: str, announced: int) -> tuple[int, float]:
    """Announce ``announced`` bytes, send only the first 64 KiB, and wait for the answer.

    Returns (status code, seconds from the request line to the status line). A server that
    checks Content-Length first answers at once; one that reads the body first never answers
    within the socket timeout (the rest of the body never comes), which raises.
    """
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {announced}\r\nConnection: close\r\n\r\n"
        ).encode()
        started = time.perf_counter()
        sock.sendall(head + b"x" * 65536)
        status_line = sock.makefile("rb").readline()
        elapsed = time.perf_counter() - started
    return int(status_line.split()[1]), elapsed
