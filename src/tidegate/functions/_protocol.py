"""The runner ↔ worker pipe protocol: length-prefixed frames of a JSON header and raw bytes.

A frame is ``<u32 header length><u32 body length><header JSON><body>``. The body carries the event or
HTTP body on the way in and the payload on the way out, so bytes never pass through JSON. Only the
standard library is used: the worker imports this module at start-up.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

from tidegate.jsontext import compact_ascii

_PREFIX = struct.Struct("<II")
_CHUNK = 1 << 16


class FrameTimeout(Exception):
    """No complete frame arrived before the deadline."""


def encode(header: dict[str, Any], body: bytes = b"") -> bytes:
    """Serialise one frame."""
    raw = compact_ascii(header).encode()
    return b"".join((_PREFIX.pack(len(raw), len(body)), raw, body))


def write_all(fd: int, data: bytes) -> None:
    """Write ``data`` completely to a blocking file descriptor."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class FrameReader:
    """Reads frames from a file descriptor, optionally with a deadline (``time.monotonic()`` based)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buf = bytearray()
        self._poll = select.poll()
        self._poll.register(fd, select.POLLIN | select.POLLHUP | select.POLLERR)

    def read(self, deadline: float | None = None) -> tuple[dict[str, Any], bytes]:
        """Return the next ``(header, body)``.

        Raises:
            EOFError: The other side closed the pipe (or died) before a whole frame arrived.
            FrameTimeout: ``deadline`` passed first.
        """
        self._fill(_PREFIX.size, deadline)
        head_len, body_len = _PREFIX.unpack_from(self._buf)
        total = _PREFIX.size + head_len + body_len
        self._fill(total, deadline)
        header = json.loads(self._buf[_PREFIX.size : _PREFIX.size + head_len])
        body = bytes(self._buf[_PREFIX.size + head_len : total])
        del self._buf[:total]
        return header, body

    def _fill(self, size: int, deadline: float | None) -> None:
        while len(self._buf) < size:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._poll.poll(max(1, int(remaining * 1000 + 0.999))):
                    if time.monotonic() >= deadline:
                        raise FrameTimeout()
                    continue
            chunk = os.read(self._fd, max(_CHUNK, size - len(self._buf)))
            if not chunk:
                raise EOFError("pipe closed")
            self._buf += chunk
