"""Time limits on slow HTTP clients: uvicorn's httptools protocol with a header and a body deadline.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but waits forever for a request that
arrives slowly: a client sending one header line every few seconds, or declaring a body and never sending
it, holds its connection (and, once the app reads, its request) for as long as it likes. Here:

* the request line and headers must be complete within ``header_timeout_s`` of the connection being made
  or of the request's first byte;
* while a body is awaited, some of it must arrive every ``body_timeout_s`` (a stall is cut off; a slow but
  steady upload is not). Time the server itself stops reading (flow control) does not count;
* between requests a keep-alive connection may stay idle ``keep_alive_s`` (uvicorn's own timer).

Nothing is timed while the app works on a complete request, so long polls (MNS ``waitseconds`` up to 30 s,
``DescribeExecution`` ``WaitTimeSeconds`` up to 60 s) are unaffected. A cut-off connection is closed with
one debug line; a request whose body was being read ends as a client disconnect (:mod:`tidegate.api.body`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["BODY_TIMEOUT_S", "HEADER_TIMEOUT_S", "KEEP_ALIVE_S", "HttpLimits", "protocol_class"]

log = logging.getLogger("tidegate.http")


HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 5


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """The server's time limits on clients, in seconds (see the module docstring)."""

    header_timeout_s: float = HEADER_TIMEOUT_S
    body_timeout_s: float = BODY_TIMEOUT_S
    keep_alive_s: int = KEEP_ALIVE_S  # uvicorn's timeout_keep_alive is whole seconds

    def __post_init__(self) -> None:
        for name in ("header_timeout_s", "body_timeout_s", "keep_alive_s"):
            value = getattr(self, name)
            if not 0 < value <= 3600:
                raise ValueError(f"{name} must be more than 0 and at most 3600 seconds, not {value!r}")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` with the header and body deadlines of :attr:`limits`."""

    limits: ClassVar[HttpLimits] = HttpLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._guard: asyncio.TimerHandle | None = None

    def _arm(self, timeout_s: float, what: str) -> None:
        self._disarm()
        self._guard = self.loop.call_later(timeout_s, self._expired, timeout_s, what)

    def _disarm(self) -> None:
        if self._guard is not None:
            self._guard.cancel()
            self._guard = None

    def _expired(self, timeout_s: float, what: str) -> None:
        self._guard = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # the server stopped reading, not the client: it has not stalled
            self._arm(timeout_s, what)
            return
        client = "%s:%d" % self.client if self.client else "a client"  # noqa: UP031  (uvicorn's tuple)
        log.debug("%s: closing the connection, %s within %g s", client, what, timeout_s)
        self.transport.close()

    # --- the points where a deadline starts or ends ------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.limits.header_timeout_s, "no complete request headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._guard is None:  # a later request on a kept-alive connection (the first one is armed)
            self._arm(self.limits.header_timeout_s, "no complete request headers")

    def on_headers_complete(self) -> None:
        self._arm(self.limits.body_timeout_s, "no request body")  # disarmed when the message completes
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm(self.limits.body_timeout_s, "no more of the request body")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


def protocol_class(limits: HttpLimits) -> type[GuardedHttpToolsProtocol]:
    """The protocol class to give uvicorn (``Config(http=…)``) for these limits."""
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), {"limits": limits})
