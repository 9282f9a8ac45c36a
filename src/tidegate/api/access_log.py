"""The access log: one line per HTTP request (``tidegate server --access-log``).

``POST /queues/jobs/messages 201 2.4 ms 5F3A…0001``: method, path, status, duration and the request id
the response carries (``x-mns-request-id``, ``x-acs-request-id``, ``x-fc-request-id``; ``-`` when it has
none). The query string is never written: RPC requests carry their signature, AccessKey ID and security
token there. A request that ended without a response (the client went away) shows status ``-``.

The line goes to the ``tidegate.access`` logger at INFO with the fields as record attributes, so the JSON
log format has them as ``method``, ``path``, ``status``, ``duration_ms`` and ``request_id``.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidegate.api.proxy import origin_form

__all__ = ["AccessLog"]

log = logging.getLogger("tidegate.access")
_SUFFIX = b"-request-id"


class AccessLog:
    """ASGI middleware writing one access line per HTTP request to the ``tidegate.access`` logger."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        request_id: str | None = None

        async def send_and_note(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", ()):
                    if name.lower().endswith(_SUFFIX):
                        request_id = value.decode("latin-1")
                        break
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            method, path = scope["method"], origin_form(scope["path"])
            log.info(
                "%s %s %s %.1f ms %s",
                *(method, path, status if status is not None else "-", duration_ms, request_id or "-"),
                extra={
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration_ms,
                    "request_id": request_id,
                },
            )
