"""The server's app on a real socket in the test's own process, for SDK programs that need a URL.

Unlike :class:`tests.server.ServerProcess` the test keeps the :class:`AppContext`, so it can pin or move
the server's clock (``AppContext(clock=…)``) and reach its store directly::

    clock = MovableClock()
    ctx = AppContext(store=store, keyring=KeyRing(TEST_ROOT), clock=clock)
    with serve_app(ctx) as endpoint:      # "127.0.0.1:PORT"
        ...
        clock.offset_ms = 200_000         # the server now lives 200 s ahead
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from tests.server import free_port
from tests.waiting import wait_until
from tidegate.api.context import AppContext
from tidegate.app import create_app
from tidegate.clock import now_ms


class MovableClock:
    """Wall-clock epoch milliseconds plus an offset the test changes."""

    def __init__(self, offset_ms: int = 0) -> None:
        self.offset_ms = offset_ms

    def __call__(self) -> int:
        return now_ms() + self.offset_ms


@contextmanager
def serve_app(ctx: AppContext) -> Iterator[str]:
    """Serve ``create_app(ctx)`` on 127.0.0.1 in a background thread; yield ``127.0.0.1:PORT``."""
    port = free_port()
    config = uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-app", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), timeout=15, message="the app to listen")
        assert server.started, "the app did not start"
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
