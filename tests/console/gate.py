"""A pass-through HTTP gate in front of the server that can hold requests until the test releases them.

The deployed topic example finishes in tens of milliseconds (topic → HTTP push → the function's trigger →
ReportTaskSucceeded), faster than a page can show it running. The console's acceptance test starts the
server with ``TIDEGATE_PUBLIC_URL`` set to a gate, so ``tidegate deploy`` subscribes the topic to the
function's trigger *through the gate*: the push worker's real request, unchanged, waits at the gate while
the page shows the task waiting, and is forwarded to the server's trigger once the test releases it. The
gate reports nothing and invents nothing; it only decides *when* the push arrives (within the push worker's
5-second answer limit).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

#: A held request is forwarded anyway after this long (a test that forgot to release must not hang).
HOLD_LIMIT_S = 30.0
# Headers that describe one hop (httpx decodes the body, so its encoding is one too).
_HOP_HEADERS = {"host", "connection", "content-length", "transfer-encoding", "keep-alive", "content-encoding"}


@dataclass(slots=True)
class Passage:
    """One request through the gate: ``status`` is the server's answer, None while held or forwarding."""

    method: str
    path: str
    status: int | None = None


class Gate:
    """An HTTP gate on ``127.0.0.1`` that forwards every request to ``target``; open unless held.

    Args:
        target: the base URL requests are forwarded to (``http://127.0.0.1:PORT``).
    """

    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.passages: list[Passage] = []
        self._open = threading.Event()
        self._open.set()
        self._changed = threading.Condition()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._http.daemon_threads = True
        self._thread = threading.Thread(target=self._http.serve_forever, name="gate", daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` of the gate."""
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def start(self) -> None:
        """Start serving in a background thread."""
        self._thread.start()

    def close(self) -> None:
        """Let held requests through and stop serving."""
        self._open.set()
        self._http.shutdown()
        self._http.server_close()

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold every request arriving inside the block; release them when it ends."""
        self._open.clear()
        try:
            yield
        finally:
            self._open.set()

    def wait_for(self, predicate: Callable[[list[Passage]], bool], timeout_s: float = 20.0) -> list[Passage]:
        """Wait until ``predicate(passages)`` holds and return a copy of the passages.

        Raises:
            AssertionError: the condition did not hold within ``timeout_s``.
        """
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not predicate(self.passages):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"gate: condition not met in {timeout_s}s; passages {self.passages}")
                self._changed.wait(left)
            return list(self.passages)

    def _record(self, method: str, path: str) -> Passage:
        passage = Passage(method, path)
        with self._changed:
            self.passages.append(passage)
            self._changed.notify_all()
        return passage

    def _answered(self, passage: Passage, status: int) -> None:
        with self._changed:
            passage.status = status
            self._changed.notify_all()

    def _forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        passage = self._record(method, path)
        self._open.wait(HOLD_LIMIT_S)
        try:
            resp = httpx.request(method, self.target + path, headers=headers, content=body, timeout=30)
        except httpx.HTTPError:
            self._answered(passage, 502)
            raise
        self._answered(passage, resp.status_code)
        return resp

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        gate = self

        class Handler(BaseHTTPRequestHandler):
            def _pass(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                try:
                    resp = gate._forward(self.command, self.path, headers, body)
                except httpx.HTTPError:
                    self.send_error(502)
                    return
                self.send_response(resp.status_code)
                for key, value in resp.headers.multi_items():
                    if key.lower() not in _HOP_HEADERS:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(resp.content)))
                self.end_headers()
                self.wfile.write(resp.content)

            do_GET = do_POST = do_PUT = do_DELETE = _pass

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        return Handler
