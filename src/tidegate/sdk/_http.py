"""The SDK's HTTP transport: a small HTTP/1.1 client on the event loop itself (asyncio protocols).

No thread hand-offs and no general-purpose client stack: a request is one ``write`` of its head and body on a
kept-alive connection, and its answer is parsed from what the loop hands the protocol (status line, headers,
``Content-Length`` or chunked body). On the reference machine that is a fraction of the client CPU per
request of ``httpx`` (whose blocking client costs ~0.5 ms a request, plus a thread hand-off each way, and
whose asynchronous client ~1.7 ms). ``https`` endpoints are verified with the ``ssl`` module's default
context (the system's certificate authorities, host name checked).

A request sent on a kept-alive connection that the server had closed meanwhile (before any byte of the
answer came back) is sent again once on a new connection, as browsers and ``urllib3`` do.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Mapping
from typing import Any

from tidegate.sdk.errors import TransportError

__all__ = ["Response", "Transport"]

#: Answers larger than this are refused (MNS answers at most 16 messages of 64 KiB, base64).
MAX_RESPONSE = 64 * 1024 * 1024
_NO_BODY_STATUS = frozenset({204, 304})
#: What may not appear in a request target or a header value (they would end or split the request's head).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]")


class Response:
    """An answer: its status, its headers (names in lower case) and its body."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        """The body as text (UTF-8, undecodable bytes replaced)."""
        return self.content.decode("utf-8", "replace")

    def __repr__(self) -> str:
        return f"<Response {self.status_code}, {len(self.content)} bytes>"


class _Origin:
    """Where connections of one ``scheme://host[:port]`` go, and its idle connections."""

    __slots__ = ("host", "host_header", "idle", "port", "ssl")

    def __init__(self, scheme: str, netloc: str, ssl_context: ssl.SSLContext | None) -> None:
        if scheme not in ("http", "https") or not netloc or "@" in netloc:
            raise TransportError(f"not an http:// or https:// URL of a host: {scheme}://{netloc}")
        host, port = netloc, 443 if scheme == "https" else 80
        if netloc.startswith("["):  # [v6]:port
            end = netloc.find("]")
            host, rest = netloc[1:end], netloc[end + 1 :]
            if rest.startswith(":"):
                port = int(rest[1:])
        elif ":" in netloc:
            host, _, p = netloc.rpartition(":")
            port = int(p)
        self.host = host
        self.port = port
        self.host_header = netloc
        self.ssl = ssl_context if scheme == "https" else None
        self.idle: list[_Connection] = []


class _Closed(TransportError):
    """The connection closed before the answer was complete; ``fresh``: before any byte of it came."""

    def __init__(self, message: str, fresh: bool) -> None:
        super().__init__(message)
        self.fresh = fresh


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection; one request at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buf = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._head_only = False
        # The answer being read: status and headers once the head is in; then the body's framing.
        self._status = 0
        self._headers: dict[str, str] = {}
        self._length = -1  # Content-Length; -1: until close; -2: chunked
        self._body_at = -1  # where the body starts in _buf; -1: the head is not complete yet
        self.keep_alive = True

    # --- asyncio.Protocol ----------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._waiter is None or self._waiter.done():  # bytes nobody asked for: the connection is unusable
            self.abort()
            return
        self._buf += data
        try:
            self._parse()
        except TransportError as exc:
            self._fail(exc)
            self.abort()

    def eof_received(self) -> bool | None:
        if self._waiter is not None and not self._waiter.done() and self._body_at >= 0 and self._length == -1:
            self._finish(bytes(self._buf[self._body_at :]))  # a body that ends with the connection
        return None  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            fresh = not self._buf
            why = f"the connection closed ({exc})" if exc else "the connection closed"
            self._fail(_Closed(f"{why} before the answer was complete", fresh))

    # --- requests -----------------------------------------------------------------------------------------

    def send(self, data: bytes, head_only: bool) -> asyncio.Future[Response]:
        assert self.transport is not None
        self._buf.clear()
        self._body_at = -1
        self._head_only = head_only
        self._waiter = waiter = self.loop.create_future()
        self.transport.write(data)
        return waiter

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _fail(self, exc: BaseException) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    def _finish(self, body: bytes) -> None:
        waiter = self._waiter
        self._waiter = None
        self._buf.clear()
        if waiter is not None and not waiter.done():
            waiter.set_result(Response(self._status, self._headers, body))

    def _parse(self) -> None:
        buf = self._buf
        if self._body_at < 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    raise TransportError("the answer's head is longer than 64 KiB")
                return
            self._read_head(bytes(buf[:end]))
            self._body_at = end + 4
        if len(buf) > MAX_RESPONSE:
            raise TransportError(f"the answer is longer than {MAX_RESPONSE} bytes")
        start, length = self._body_at, self._length
        if length >= 0:
            if len(buf) - start >= length:
                if len(buf) - start > length:
                    raise TransportError("the server sent more than the answer's Content-Length")
                self._finish(bytes(buf[start : start + length]))
        elif length == -2:
            body = self._dechunk(start)
            if body is not None:
                self._finish(body)

    def _read_head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0]
        if not status_line.startswith("HTTP/1.") or len(status_line) < 12 or not status_line[9:12].isdigit():
            raise TransportError(f"not an HTTP/1.x answer: {status_line[:80]!r}")
        status = int(status_line[9:12])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise TransportError(f"a malformed header line in the answer: {line[:80]!r}")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if 100 <= status < 200:
            raise TransportError(f"an unexpected interim answer {status}")
        self._status, self._headers = status, headers
        conn = headers.get("connection", "").lower()
        self.keep_alive = "close" not in conn and (status_line.startswith("HTTP/1.1") or "keep-alive" in conn)
        if self._head_only or status in _NO_BODY_STATUS:
            self._length = 0
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            self._length = -2
        elif "content-length" in headers:
            try:
                self._length = int(headers["content-length"])
            except ValueError:
                raise TransportError(f"a malformed Content-Length: {headers['content-length'][:40]!r}") from None
            if self._length < 0:
                raise TransportError("a negative Content-Length")
        else:
            self._length = -1
            self.keep_alive = False

    def _dechunk(self, pos: int) -> bytes | None:
        """The body when every chunk is in (and the trailers' end); None while some are missing."""
        buf = self._buf
        parts: list[bytes] = []
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise TransportError(f"a malformed chunk size: {size_text[:20]!r}") from None
            if size == 0:
                end = buf.find(b"\r\n\r\n", eol)  # trailers (usually none) end with an empty line
                if end < 0 and buf[eol : eol + 4] != b"\r\n\r\n":
                    return None
                return b"".join(parts)
            start = eol + 2
            if len(buf) < start + size + 2:
                return None
            parts.append(bytes(buf[start : start + size]))
            pos = start + size + 2


class Transport:
    """Sends requests for coroutines of one event loop, on kept-alive connections (one per request in flight).

    Args:
        size: connections kept alive per endpoint once idle (more are opened while more requests are in flight).
        timeout: the default timeout of a request (connecting included), in seconds.
        ssl_context: how ``https`` connections are verified; default ``ssl.create_default_context()``.
    """

    def __init__(self, size: int, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        self.size = size
        self.timeout = timeout
        self._ssl = ssl_context
        self._origins: dict[str, _Origin] = {}
        self._closed = False

    def _origin(self, key: str) -> _Origin:
        origin = self._origins.get(key)
        if origin is None:
            scheme, _, netloc = key.partition("://")
            if scheme == "https" and self._ssl is None:
                self._ssl = ssl.create_default_context()
            try:
                origin = _Origin(scheme, netloc, self._ssl)
            except ValueError:
                raise TransportError(f"not a port number in {key!r}") from None
            self._origins[key] = origin
        return origin

    async def request(
        self,
        method: str,
        url: str,
        content: bytes = b"",
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Response:
        """Send one request and return the answer (any status).

        Raises:
            TransportError: the server could not be reached, or did not answer in time.
        """
        if self._closed:
            raise TransportError("the transport is closed")
        slash = url.find("/", url.find("://") + 3)
        key, target = (url, "/") if slash < 0 else (url[:slash], url[slash:])
        origin = self._origin(key)
        if " " in target or _UNSAFE.search(target):
            raise TransportError(f"a request target with spaces or control characters: {target[:80]!r}")
        lines = [f"{method} {target} HTTP/1.1\r\nhost: {origin.host_header}\r\n"]
        if headers:
            for k, v in headers.items():
                if _UNSAFE.search(v) or _UNSAFE.search(k) or ":" in k:
                    raise TransportError(f"the header {k[:40]!r} holds control characters")
                lines.append(f"{k}: {v}\r\n")
        if content or method in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(content)}\r\n")
        lines.append("\r\n")
        try:
            data = "".join(lines).encode("latin-1")
        except UnicodeEncodeError:
            raise TransportError("a request target or header that is not Latin-1 text") from None
        if content:
            data += content
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.timeout if timeout is None else timeout)
        try:
            return await self._exchange(loop, origin, data, method == "HEAD", deadline)
        except TimeoutError:
            raise TransportError(f"{method} {key}: no answer in time") from None
        except OSError as exc:
            raise TransportError(f"{method} {key}: {exc}") from exc

    async def _exchange(
        self, loop: asyncio.AbstractEventLoop, origin: _Origin, data: bytes, head_only: bool, deadline: float
    ) -> Response:
        while True:
            conn, reused = await self._connection(loop, origin, deadline)
            waiter = conn.send(data, head_only)
            timer = loop.call_later(max(0.0, deadline - loop.time()), _expire, waiter)
            try:
                resp = await waiter
            except _Closed as exc:
                if reused and exc.fresh:  # a kept-alive connection the server had closed: once more, anew
                    continue
                raise
            except BaseException:
                conn.abort()  # cancelled or timed out mid-answer: the connection's state is unknown
                raise
            finally:
                timer.cancel()
            if conn.keep_alive and not conn.closed and not self._closed and len(origin.idle) < self.size:
                origin.idle.append(conn)
            else:
                conn.close()
            return resp

    async def _connection(
        self, loop: asyncio.AbstractEventLoop, origin: _Origin, deadline: float
    ) -> tuple[_Connection, bool]:
        while origin.idle:
            conn = origin.idle.pop()
            if not conn.closed and conn.loop is loop:
                return conn, True
            conn.close()
        conn = _Connection(loop)
        connect = loop.create_connection(
            lambda: conn,
            origin.host,
            origin.port,
            ssl=origin.ssl,
            server_hostname=origin.host if origin.ssl is not None else None,
        )
        await asyncio.wait_for(connect, max(0.0, deadline - loop.time()))
        return conn, False

    def close(self) -> None:
        """Close the idle connections; those of requests in flight close when their answers are in."""
        self._closed = True
        for origin in self._origins.values():
            for conn in origin.idle:
                conn.close()
            origin.idle.clear()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()


def _expire(waiter: asyncio.Future[Response]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
