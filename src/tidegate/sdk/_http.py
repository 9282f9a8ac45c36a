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
import base64
import re
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import getproxies_environment

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


def _host_port(netloc: str, default_port: int) -> tuple[str, int]:
    """``host`` and port of ``host[:port]`` or ``[v6]:port``.

    Raises:
        ValueError: the port is not a number.
    """
    if netloc.startswith("["):
        end = netloc.find("]")
        rest = netloc[end + 1 :]
        return netloc[1:end], int(rest[1:]) if rest.startswith(":") else default_port
    if ":" in netloc:
        host, _, port = netloc.rpartition(":")
        return host, int(port)
    return netloc, default_port


def _bypass(host: str, no_proxy: str) -> bool:
    """Whether ``NO_PROXY`` (``*``, or names and domains, ``.example.com`` or ``example.com``) spares ``host``."""
    host = host.lower()
    for item in no_proxy.replace(" ", "").lower().split(","):
        entry = item[1 : item.find("]")] if item.startswith("[") else item.split(":")[0].lstrip(".")
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False


class _Origin:
    """Where connections of one ``scheme://host[:port]`` go (directly or through a proxy), and its idle ones.

    Raises:
        TransportError: not an http(s) URL of a host, or a proxy URL that is not ``http://host:port``.
        ValueError: a port is not a number.
    """

    __slots__ = ("connect_to", "host", "host_header", "idle", "port", "proxy_headers", "ssl", "target_prefix", "tunnel")

    def __init__(self, scheme: str, netloc: str, ssl_context: ssl.SSLContext | None, proxy: str | None) -> None:
        if scheme not in ("http", "https") or not netloc or "@" in netloc:
            raise TransportError(f"not an http:// or https:// URL of a host: {scheme}://{netloc}")
        self.host, self.port = _host_port(netloc, 443 if scheme == "https" else 80)
        if not self.host:
            raise TransportError(f"not an http:// or https:// URL of a host: {scheme}://{netloc}")
        self.host_header = netloc
        self.ssl = ssl_context if scheme == "https" else None
        self.idle: list[_Connection] = []
        #: Where to connect; with a proxy, the prefix of an absolute request target (http) or a CONNECT (https).
        self.connect_to = (self.host, self.port)
        self.target_prefix = ""
        self.tunnel = False
        self.proxy_headers = ""
        if proxy:
            parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            if parts.scheme != "http" or not parts.hostname:
                raise TransportError(f"only http:// proxies are supported, not {proxy!r}")
            self.connect_to = (parts.hostname, parts.port or 80)
            if parts.username is not None:
                basic = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
                self.proxy_headers = f"proxy-authorization: Basic {base64.b64encode(basic).decode()}\r\n"
            if scheme == "https":
                self.tunnel = True
            else:
                self.target_prefix = f"http://{netloc}"


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
        if self.transport is not None and not self.loop.is_closed():
            self.transport.abort()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None and not self.loop.is_closed():
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
    """Sends requests on kept-alive connections (one per request in flight) for one event loop's coroutines.

    The loop is the first one it is used in; close it (or leave its ``async with``) in that loop, since a
    connection can only be closed by its loop.

    Proxies come from the environment as for ``urllib`` (``HTTPS_PROXY``, ``HTTP_PROXY``, ``ALL_PROXY``,
    ``NO_PROXY``; an ``http://`` proxy, with or without ``user:password@``): ``https`` goes through a
    ``CONNECT`` tunnel, ``http`` as absolute request targets.

    Args:
        size: connections kept alive per endpoint once idle (more are opened while more requests are in flight).
        timeout: the default timeout of a request (connecting included), in seconds.
        ssl_context: how ``https`` connections are verified; default ``ssl.create_default_context()``.
        trust_env: use the proxies the environment names.
    """

    def __init__(
        self, size: int, timeout: float = 30.0, ssl_context: ssl.SSLContext | None = None, trust_env: bool = True
    ) -> None:
        if size < 1:
            raise ValueError(f"size must be at least 1, not {size}")
        self.size = size
        self.timeout = timeout
        self._ssl = ssl_context
        self._proxies = getproxies_environment() if trust_env else {}
        self._origins: dict[str, _Origin] = {}
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    def _origin(self, key: str) -> _Origin:
        origin = self._origins.get(key)
        if origin is None:
            scheme, _, netloc = key.partition("://")
            if scheme == "https" and self._ssl is None:
                self._ssl = ssl.create_default_context()
            proxy = self._proxies.get(scheme) or self._proxies.get("all")
            try:
                if proxy and _bypass(_host_port(netloc, 0)[0], self._proxies.get("no", "")):
                    proxy = None
                origin = _Origin(scheme, netloc, self._ssl, proxy)
            except ValueError:
                raise TransportError(f"not a port number in {key!r} or its proxy {proxy!r}") from None
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
        lines = [
            f"{method} {origin.target_prefix}{target} HTTP/1.1\r\nhost: {origin.host_header}\r\n",
            origin.proxy_headers,
        ]
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
        if loop is not self._loop:
            if self._loop is not None:
                raise TransportError("a Transport serves the event loop it was first used in; make one per loop")
            self._loop = loop
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
            try:
                resp = await _answer(loop, conn, data, head_only, deadline)
            except _Closed as exc:
                if reused and exc.fresh:  # a kept-alive connection the server had closed: once more, anew
                    continue
                raise
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
            if not conn.closed:
                return conn, True
        conn = _Connection(loop)
        direct_tls = origin.ssl if not origin.tunnel else None
        connect = loop.create_connection(
            lambda: conn,
            *origin.connect_to,
            ssl=direct_tls,
            server_hostname=origin.host if direct_tls is not None else None,
        )
        await asyncio.wait_for(connect, max(0.0, deadline - loop.time()))
        if origin.tunnel:
            try:
                await self._tunnel(loop, origin, conn, deadline)
            except BaseException:
                conn.abort()
                raise
        return conn, False

    @staticmethod
    async def _tunnel(loop: asyncio.AbstractEventLoop, origin: _Origin, conn: _Connection, deadline: float) -> None:
        """Open a CONNECT tunnel through the proxy ``conn`` is connected to, and TLS through it."""
        assert origin.ssl is not None and conn.transport is not None
        connect = f"CONNECT {origin.host_header} HTTP/1.1\r\nhost: {origin.host_header}\r\n{origin.proxy_headers}\r\n"
        answer = await _answer(loop, conn, connect.encode("latin-1"), True, deadline)
        if answer.status_code != 200:
            raise TransportError(f"the proxy refused the tunnel to {origin.host_header}: HTTP {answer.status_code}")
        tls = loop.start_tls(conn.transport, conn, origin.ssl, server_hostname=origin.host)
        transport = await asyncio.wait_for(tls, max(0.0, deadline - loop.time()))
        assert isinstance(transport, asyncio.Transport)
        conn.transport = transport
        conn.keep_alive = True

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


async def _answer(
    loop: asyncio.AbstractEventLoop, conn: _Connection, data: bytes, head_only: bool, deadline: float
) -> Response:
    """Send ``data`` on ``conn`` and wait for the answer until ``deadline`` (the loop's clock)."""
    waiter = conn.send(data, head_only)
    timer = loop.call_later(max(0.0, deadline - loop.time()), _expire, waiter)
    try:
        return await waiter
    except _Closed:
        raise
    except BaseException:
        conn.abort()  # cancelled or timed out mid-answer: the connection's state is unknown
        raise
    finally:
        timer.cancel()


def _expire(waiter: asyncio.Future[Response]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())
