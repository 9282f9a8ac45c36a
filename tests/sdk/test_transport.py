"""The SDK's HTTP/1.1 transport against scripted peers: framing, keep-alive, stale connections, timeouts, TLS.

The peers are raw asyncio servers that answer byte for byte what each test writes (what a proxy, a load
balancer or an unusual server may send); the worker tests run the same transport against a real server.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import ipaddress
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tidegate.sdk import Transport, TransportError
from tidegate.sdk._http import _Connection

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Peer"], Awaitable[None]]


class Peer:
    """A TCP server on 127.0.0.1 running ``script`` per connection; it counts connections and keeps requests."""

    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.connections = 0
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.url = ""
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> Peer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.script(reader, writer, self)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def read_request(self, reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
        """Read one request (head and Content-Length body) and keep it."""
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((head[0], headers, body))
        return head[0], headers, body


def ok(body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\ncontent-length: {len(body)}\r\n{extra}\r\n".encode() + body


CHUNKED = b"HTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"


def test_answers_split_anywhere_are_put_together() -> None:
    """An answer may arrive in any pieces: the parser waits for the rest wherever the cut falls."""
    answers = [
        (CHUNKED, 201, b"hello, world"),
        (ok(b"0123456789", "x-a: b\r\n"), 200, b"0123456789"),
        (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
    ]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for answer, status, body in answers:
            for cut in range(1, len(answer)):
                near, far = socket.socketpair()
                conn = _Connection(loop)
                await loop.create_connection(lambda c=conn: c, sock=near)  # type: ignore[misc]
                waiter = conn.send(b"GET / HTTP/1.1\r\n\r\n", head_only=False)
                conn.data_received(answer[:cut])
                assert not waiter.done(), (answer, cut)
                conn.data_received(answer[cut:])
                resp = waiter.result()
                assert (resp.status_code, resp.content, conn.keep_alive) == (status, body, True), (answer, cut)
                conn.close()
                far.close()

    asyncio.run(main())


def test_requests_share_a_kept_alive_connection_and_answers_are_framed() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        await peer.read_request(reader)
        writer.write(ok(b"first", "X-Two: a\r\nx-two: b\r\n"))
        await peer.read_request(reader)
        writer.write(CHUNKED)
        await peer.read_request(reader)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await reader.read()

    async def main() -> None:
        async with Peer(script) as peer, Transport(4) as http:
            r1 = await http.request("POST", peer.url + "/a/b?x=1&y=%2F", b"<x/>", {"x-mns-version": "2015-06-06"})
            r2 = await http.request("GET", peer.url + "/c")
            r3 = await http.request("DELETE", peer.url + "/d")
            assert (r1.status_code, r1.content, r1.headers["x-two"]) == (200, b"first", "a, b")
            assert (r2.status_code, r2.text) == (201, "hello, world")
            assert (r3.status_code, r3.content) == (204, b"")
            assert peer.connections == 1
            line, headers, body = peer.requests[0]
            assert line == "POST /a/b?x=1&y=%2F HTTP/1.1"
            assert headers["host"] == peer.url.removeprefix("http://")
            assert (headers["x-mns-version"], headers["content-length"], body) == ("2015-06-06", "4", b"<x/>")
            assert "content-length" not in peer.requests[1][1]  # a GET without a body announces none

    asyncio.run(main())


def test_a_kept_alive_connection_the_server_dropped_is_retried_once_on_a_new_one() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        await peer.read_request(reader)
        if peer.connections == 1:
            writer.write(ok(b"one"))
            await writer.drain()
            await peer.read_request(reader)  # the second request on this connection: dropped unanswered
            writer.transport.abort()
            return
        writer.write(ok(b"two"))
        await writer.drain()

    async def main() -> None:
        async with Peer(script) as peer, Transport(4) as http:
            assert (await http.request("GET", peer.url + "/")).content == b"one"
            assert (await http.request("GET", peer.url + "/")).content == b"two"
            assert (peer.connections, len(peer.requests)) == (2, 3)

    asyncio.run(main())


def test_a_new_connection_closed_before_the_answer_fails_without_a_retry() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        await peer.read_request(reader)
        writer.transport.abort()

    async def main() -> None:
        async with Peer(script) as peer, Transport(4) as http:
            with pytest.raises(TransportError, match="closed"):
                await http.request("POST", peer.url + "/", b"x")
            assert (peer.connections, len(peer.requests)) == (1, 1)

    asyncio.run(main())


def test_an_answer_cut_short_fails() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        await peer.read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
        await writer.drain()
        writer.transport.abort()

    async def main() -> None:
        async with Peer(script) as peer, Transport(4) as http:
            with pytest.raises(TransportError, match="before the answer was complete"):
                await http.request("GET", peer.url + "/")
            assert peer.connections == 1  # bytes of the answer came: the request is not sent again

    asyncio.run(main())


def test_a_body_that_ends_with_the_connection() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        await peer.read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\n\r\nuntil the end")
        await writer.drain()

    async def main() -> None:
        async with Peer(script) as peer, Transport(4) as http:
            assert (await http.request("GET", peer.url + "/")).content == b"until the end"
            assert (await http.request("GET", peer.url + "/")).content == b"until the end"
            assert peer.connections == 2  # such a connection is not kept

    asyncio.run(main())


def test_no_answer_in_time_fails_and_the_connection_is_not_reused() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        while True:
            await peer.read_request(reader)
            if len(peer.requests) > 1:
                writer.write(ok(b"late"))

    async def main() -> None:
        async with Peer(script) as peer, Transport(4, timeout=30) as http:
            t0 = time.monotonic()
            with pytest.raises(TransportError, match="no answer in time"):
                await http.request("GET", peer.url + "/", timeout=0.3)
            assert time.monotonic() - t0 < 10
            assert (await http.request("GET", peer.url + "/")).content == b"late"
            assert peer.connections == 2

    asyncio.run(main())


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 abc\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nab",
        b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\n",
    ],
)
def test_answers_that_are_not_http_fail_clearly(answer: bytes) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        await peer.read_request(reader)
        writer.write(answer)
        await writer.drain()
        await reader.read()

    async def main() -> None:
        async with Peer(script) as peer, Transport(4) as http:
            with pytest.raises(TransportError):
                await http.request("GET", peer.url + "/")

    asyncio.run(main())


def test_control_characters_in_a_target_or_header_are_refused_before_sending() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        await peer.read_request(reader)

    async def main() -> None:
        async with Peer(script) as peer, Transport(4) as http:
            for url, headers in [
                (peer.url + "/q?ReceiptHandle=a\r\nx-evil: 1", None),
                (peer.url + "/q?a b", None),
                (peer.url + "/q", {"security-token": "t\r\nx-evil: 1"}),
                (peer.url + "/q", {"bad:name": "v"}),
                (peer.url + "/q", {"x": "caf\u00e9 \u2603"}),
            ]:
                with pytest.raises(TransportError):
                    await http.request("GET", url, headers=headers)
            assert peer.requests == []

    asyncio.run(main())


def test_unreachable_and_malformed_urls_fail_clearly() -> None:
    async def main() -> None:
        async with Peer(lambda r, w, p: asyncio.sleep(0)) as peer:
            url = peer.url
        async with Transport(1) as http:  # the peer is gone: nothing listens on its port
            with pytest.raises(TransportError, match=re.escape("GET http://127.0.0.1")):
                await http.request("GET", url + "/")
            for bad in ("ftp://h/x", "http:///x", "http://h:port/x", "http://user@h/x"):
                with pytest.raises(TransportError):
                    await http.request("GET", bad)
        http.close()
        with pytest.raises(TransportError, match="closed"):
            await http.request("GET", url + "/")

    asyncio.run(main())


def _certificate(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_https_verifies_the_certificate(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        while True:
            await peer.read_request(reader)
            writer.write(ok(b"secret"))

    async def main() -> None:
        async with Peer(script, tls=server_tls) as peer:
            async with Transport(2) as http:  # the system's authorities: a self-signed certificate is refused
                with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
                    await http.request("GET", peer.url + "/")
            async with Transport(2, ssl_context=ssl.create_default_context(cafile=str(cert))) as http:
                assert (await http.request("GET", peer.url + "/")).content == b"secret"
                assert (await http.request("GET", peer.url + "/")).content == b"secret"
            assert len(peer.requests) == 2

    asyncio.run(main())


def test_http_through_a_proxy_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    async def proxy_script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        while True:
            await peer.read_request(reader)
            writer.write(ok(b"via proxy"))

    async def direct_script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        await peer.read_request(reader)
        writer.write(ok(b"direct"))

    async def main() -> None:
        async with Peer(proxy_script) as proxy, Peer(direct_script) as direct:
            port = proxy.url.rpartition(":")[2]
            monkeypatch.setenv("HTTP_PROXY", f"http://u%40x:p%3Aw@127.0.0.1:{port}")
            monkeypatch.setenv("NO_PROXY", "localhost, .internal.example,127.0.0.1")
            async with Transport(2) as http:
                r = await http.request("POST", "http://mns.example.com:8080/queues/q?a=1", b"x", {"date": "d"})
                assert r.content == b"via proxy"
                assert (await http.request("GET", direct.url + "/")).content == b"direct"  # NO_PROXY
            line, headers, body = proxy.requests[0]
            assert line == "POST http://mns.example.com:8080/queues/q?a=1 HTTP/1.1"
            assert headers["host"] == "mns.example.com:8080"
            assert headers["proxy-authorization"] == "Basic " + base64.b64encode(b"u@x:p:w").decode()
            assert (headers["date"], body, len(proxy.requests), len(direct.requests)) == ("d", b"x", 1, 1)
            async with Transport(2, trust_env=False) as http:  # the environment's proxy left alone
                with pytest.raises(TransportError):
                    await http.request("GET", "http://mns.example.invalid/", timeout=5)
            assert len(proxy.requests) == 1

    asyncio.run(main())


def test_https_through_a_proxy_tunnel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = _certificate(tmp_path)
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    tunnels: list[str] = []

    async def tls_script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        while True:
            await peer.read_request(reader)
            writer.write(ok(b"through the tunnel"))

    async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        while data := await src.read(65536):
            dst.write(data)
            await dst.drain()
        dst.close()

    async def main() -> None:
        async with Peer(tls_script, tls=server_tls) as target:
            target_port = int(target.url.rpartition(":")[2])

            async def proxy_script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
                line, headers, _ = await peer.read_request(reader)
                tunnels.append(line)
                if headers.get("proxy-authorization") != "Basic " + base64.b64encode(b"u:p").decode():
                    writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n")
                    await writer.drain()
                    return
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

            async with Peer(proxy_script) as proxy:
                port = proxy.url.rpartition(":")[2]
                trusted = ssl.create_default_context(cafile=str(cert))
                monkeypatch.setenv("HTTPS_PROXY", f"http://u:p@127.0.0.1:{port}")
                async with Transport(2, ssl_context=trusted) as http:
                    assert (await http.request("GET", target.url + "/a")).content == b"through the tunnel"
                    assert (await http.request("GET", target.url + "/b")).content == b"through the tunnel"
                assert tunnels == [f"CONNECT 127.0.0.1:{target_port} HTTP/1.1"]  # one tunnel, kept alive
                assert [line for line, _, _ in target.requests] == ["GET /a HTTP/1.1", "GET /b HTTP/1.1"]
                async with Transport(2) as http:  # the system's authorities: the tunnel's far end is refused
                    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
                        await http.request("GET", target.url + "/")
                monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
                async with Transport(2, ssl_context=trusted) as http:
                    with pytest.raises(TransportError, match=r"proxy refused the tunnel .* HTTP 407"):
                        await http.request("GET", target.url + "/")
                monkeypatch.setenv("HTTPS_PROXY", f"https://127.0.0.1:{port}")
                async with Transport(2, ssl_context=trusted) as http:
                    with pytest.raises(TransportError, match="only http:// proxies"):
                        await http.request("GET", target.url + "/")

    asyncio.run(main())


def test_a_transport_serves_one_event_loop() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: Peer) -> None:
        while True:
            await peer.read_request(reader)
            writer.write(ok(b"hi"))

    http = Transport(2)  # made outside any loop: it takes the first one that uses it

    async def use(url: str) -> bytes:
        return (await http.request("GET", url + "/")).content

    async def main() -> None:
        async with Peer(script) as peer:
            assert await use(peer.url) == b"hi"
            with pytest.raises(TransportError, match="one per loop"):
                await asyncio.to_thread(asyncio.run, use(peer.url))
            http.close()
            with pytest.raises(TransportError, match="closed"):
                await use(peer.url)
            assert (peer.connections, len(peer.requests)) == (1, 1)

    asyncio.run(main())
