"""The server's app on a real socket in the test's own process, for SDK programs that need a URL.

Unlike :class:`tests.server.ServerProcess` the test keeps the :class:`AppContext`, so it can pin or move
the server's clock (``AppContext(clock=…)``) and reach its store directly::

    clock = MovableClock()
    ctx = AppContext(store=store, keyring=KeyRing(TEST_ROOT), clock=clock)
    with serve_app(ctx) as endpoint:      # "127.0.0.1:PORT"
        ...
        clock.offset_ms = 200_000         # the server now lives 200 s ahead

Both come from :mod:`tidegate.testing`, which users' tests get too (with the whole server as a fixture).
"""

from __future__ import annotations

from tidegate.testing import MovableClock, serve_app

__all__ = ["MovableClock", "serve_app"]
