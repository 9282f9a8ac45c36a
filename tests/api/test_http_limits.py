"""Slow and vanishing clients against a real server: header, body and keep-alive deadlines, disconnects.

The server runs with 2-second limits so that a cut-off shows quickly; each check waits for the server to
close the connection (a deadline far above the limit), while the client keeps sending where that matters.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until
from tidegate.mq.client import MnsClient, MnsClientError
from tidegate.mq.wire import QueueAttributes, encode_queue_attributes

LIMIT_S = 2
#: How long a check waits for the server to close a connection (the limit plus a wide margin).
CUT_OFF_WITHIN_S = LIMIT_S + 8
TRIGGER = "/2016-08-15/proxy/demo/web/"
WEB = """
def handler(environ, start_response):
    body = environ['wsgi.input'].read(int(environ.get('CONTENT_LENGTH') or 0))
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'got %d bytes' % len(body)]
"""
#: One POST per protocol: MNS, RPC, console, an HTTP trigger.
TARGETS = ["/queues/q/messages", "/", "/console/api/session", TRIGGER]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("limits")
    app = base / "app"
    (app / "web").mkdir(parents=True)
    (app / "web" / "index.py").write_text(WEB)
    (app / "deploy.yaml").write_text("functions:\n  demo/web:\n    code: web\n    httpTrigger: {methods: [POST]}\n")
    limits = ["--header-timeout", str(LIMIT_S), "--body-timeout", str(LIMIT_S), "--keep-alive-timeout", str(LIMIT_S)]
    srv = ServerProcess(base / "data", env=TEST_KEYS, args=[*limits, "--deploy", str(app)])
    srv.start()
    url = srv.url + TRIGGER
    wait_until(lambda: httpx.post(url, content=b"x").status_code == 200, timeout=60, message=srv.log)
    yield srv
    srv.stop()


def _connect(server: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=CUT_OFF_WITHIN_S)


def _closed_by_server(sock: socket.socket, trickle: bytes = b"", every_s: float = 0.5) -> bool:
    """Wait up to CUT_OFF_WITHIN_S for the server to close; send ``trickle`` every ``every_s`` meanwhile."""
    deadline = time.monotonic() + CUT_OFF_WITHIN_S
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], every_s)
        if readable:
            try:
                if not sock.recv(65536):
                    return True
            except ConnectionResetError:
                return True
        elif trickle:
            try:
                sock.sendall(trickle)
            except (BrokenPipeError, ConnectionResetError):
                return True
    return False


def _post_head(target: str, length: int) -> bytes:
    return (
        f"POST {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _quiet(log: str) -> list[str]:
    return [line for line in log.splitlines() if "Traceback" in line or " ERROR " in line]


def test_slow_loris_headers_are_cut_off(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        # One more header line every half second: progress, but the headers never complete.
        assert _closed_by_server(sock, trickle=b"X-Slow: 1\r\n")


def test_a_connection_that_sends_nothing_is_closed(server: ServerProcess) -> None:
    with _connect(server) as sock:
        assert _closed_by_server(sock)


def test_a_stalled_body_is_cut_off_on_every_protocol(server: ServerProcess) -> None:
    before = len(server.log())
    for target in TARGETS:
        with _connect(server) as sock:
            sock.sendall(_post_head(target, 1000) + b"0123456789")
            assert _closed_by_server(sock), target
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert _quiet(server.log()[before:]) == []


def test_a_slow_but_steady_body_is_not_cut_off(server: ServerProcess) -> None:
    body = b'{"access_key_id": "x", "access_key_secret": "y"}'
    with _connect(server) as sock:
        sock.sendall(_post_head("/console/api/session", len(body)))
        for i in range(0, len(body), 8):  # 8 bytes every half second: longer than the limit in all
            sock.sendall(body[i : i + 8])
            time.sleep(0.5)  # pacing the slow client (the behaviour under test), not synchronisation
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 "), reply[:80]


def test_an_idle_keep_alive_connection_is_closed(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        assert _closed_by_server(sock)


def test_a_client_leaving_mid_body_leaves_no_traceback(server: ServerProcess) -> None:
    before = len(server.log())
    for target in TARGETS:
        for _ in range(3):
            with _connect(server) as sock:
                sock.sendall(_post_head(target, 1000) + b"0123456789")
    # The server has seen every disconnect once it answers a request sent after them on a new connection;
    # the log is checked after one more round trip per protocol.
    for target in TARGETS:
        assert httpx.post(server.url + target, content=b"{}").status_code < 500
    assert httpx.get(server.url + "/healthz").status_code == 200
    assert _quiet(server.log()[before:]) == []


def test_a_20_second_mns_long_poll_still_works(server: ServerProcess) -> None:
    keys = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
    client = MnsClient(server.url, *keys, timeout=60)
    try:
        client.request("PUT", "/queues/longpoll", body=encode_queue_attributes(QueueAttributes()))
        got: dict[str, object] = {}

        def poll() -> None:
            started = time.monotonic()
            try:
                client.request("GET", "/queues/longpoll/messages", query="waitseconds=20")
            except MnsClientError as exc:
                got["code"] = exc.error_code
            got["waited"] = time.monotonic() - started

        t = threading.Thread(target=poll)
        t.start()
        t.join(60)
        # The poll waited its 20 s (far past every limit) and got MNS's own answer, not a closed connection.
        assert got["code"] == "MessageNotExist"
        assert float(str(got["waited"])) >= 19
    finally:
        client.close()


def test_limits_are_validated(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS, args=["--header-timeout", "0"])
    with pytest.raises(Exception, match="header-timeout"):
        srv.start(timeout_s=20)
