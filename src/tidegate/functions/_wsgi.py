"""WSGI (PEP 3333) plumbing inside the worker: build the environ, run the app, collect the response."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

from tidegate.functions._model import INVALID_RESPONSE

WsgiApp = Callable[..., Iterable[bytes]]


class InvalidResponse(Exception):
    """The WSGI app broke the protocol (no start_response, bad status, non-bytes body)."""

    error_type = INVALID_RESPONSE


def build_environ(request: dict[str, Any], body: bytes, context: object) -> dict[str, Any]:
    """The PEP 3333 environ of one request, plus ``fc.context`` and ``fc.request_uri``."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request["method"].upper(),
        "SCRIPT_NAME": "",
        # PEP 3333: PATH_INFO is the percent-decoded path as a latin-1 "bytes-as-str".
        "PATH_INFO": unquote_to_bytes(request["path"]).decode("latin-1"),
        "QUERY_STRING": request["query"],
        "SERVER_NAME": request["server_name"],
        "SERVER_PORT": str(request["server_port"]),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": request["remote_addr"],
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request["scheme"],
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "fc.context": context,
        "fc.request_uri": request["request_uri"],
    }
    for name, value in request["headers"]:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_LENGTH":
            continue  # the body is complete: its real length wins over a header
        if key != "CONTENT_TYPE":
            key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ


def run_app(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Call the app and return ``(status, headers, body)``.

    Raises:
        InvalidResponse: The app never called ``start_response`` or produced an invalid response.
    """
    chunks: list[bytes] = []
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def write(data: bytes) -> None:
        _check_chunk(data)
        chunks.append(bytes(data))

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        if started and exc_info is None:
            raise InvalidResponse("start_response called twice without exc_info")
        # Nothing is sent before the app returns, so an error response may always replace the first one.
        started[:] = [(status, list(headers))]
        return write

    result = app(environ, start_response)
    try:
        for chunk in result:
            _check_chunk(chunk)
            if chunk:
                chunks.append(bytes(chunk))
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    if not started:
        raise InvalidResponse("the WSGI app returned without calling start_response")
    status_line, headers = started[0]
    return _parse_status(status_line), _check_headers(headers), b"".join(chunks)


def _check_chunk(chunk: object) -> None:
    if not isinstance(chunk, bytes | bytearray | memoryview):
        raise InvalidResponse(f"WSGI body chunks must be bytes, got {type(chunk).__name__}")


def _parse_status(status: object) -> int:
    if isinstance(status, str):
        code = status.split(" ", 1)[0]
        if len(code) == 3 and code.isdigit():
            return int(code)
    raise InvalidResponse(f"invalid WSGI status {status!r} (expected like '200 OK')")


def _check_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    for pair in headers:
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise InvalidResponse(f"invalid WSGI header {pair!r} (expected a (str, str) tuple)")
    return headers
