"""The server's ASGI app in the test's own process: a blocking ``httpx.Client`` on ``create_app(ctx)``.

For protocol and format tests, where a server subprocess adds nothing but start-up time. Tests where
restarts, signals, SDK processes or real sockets matter keep :class:`tests.server.ServerProcess`.

The fixtures (registered in ``tests/conftest.py``)::

    def test_x(app_client: httpx.Client, app_ctx: AppContext) -> None:
        app_ctx.service.create_flow("f", FLOW)          # the app's store and services, directly
        r = app_client.get("/api/v1/flows", auth=TEST_AUTH)

``app_ctx`` is an :class:`AppContext` on a fresh SQLite store with the root key of :data:`tests.server.TEST_KEYS`;
``app_client`` talks to its app. :func:`in_process` builds a client for any other context (e.g. on the
``store`` fixture, to run on both backends).

How: one event loop runs in a background thread (an anyio blocking portal) for the client's whole life,
and each request is sent to the app on it through httpx's ``ASGITransport``. Requests from several test
threads run concurrently on that loop (a long poll in one thread, the send that wakes it in another), and
objects the app binds to its loop (the long-poll limiter) stay valid across requests. Starlette's
``TestClient`` would do the same, but it warns under the httpx in use, and warnings are errors here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from tests.server import TEST_KEYS
from tidegate.api.context import AppContext
from tidegate.app import create_app
from tidegate.auth.keys import DEFAULT_ACCOUNT_ID, AccessKey, KeyKind, KeyRing
from tidegate.deploy.host import FunctionHost
from tidegate.store import open_store

#: The root key of :data:`tests.server.TEST_KEYS` (what the recorded captures were signed with).
TEST_ROOT = AccessKey(
    id=TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"],
    secret=TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"],
    kind=KeyKind.ROOT,
    account_id=DEFAULT_ACCOUNT_ID,
)
#: ``auth=`` for the REST API (HTTP Basic with the root key).
TEST_AUTH = (TEST_ROOT.id, TEST_ROOT.secret)
#: The base URL of an in-process client (the host the app sees).
BASE_URL = "http://testserver"


class AppTransport(httpx.BaseTransport):
    """A blocking httpx transport that hands each request to an ASGI app on the portal's event loop."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def send() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
            response = await self._asgi.handle_async_request(forwarded)
            # The raw bytes: the blocking client decodes them (content-encoding) as it would off a socket.
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
            await response.aclose()
            return response.status_code, response.headers.raw, raw

        status, headers, raw = self._portal.call(send)
        return httpx.Response(status, headers=headers, content=raw, request=request)


@contextmanager
def in_process(
    ctx: AppContext, *, base_url: str = BASE_URL, functions: FunctionHost | None = None, **client: Any
) -> Iterator[httpx.Client]:
    """A blocking client of ``create_app(ctx, functions)`` running in this process (closed with the block).

    Args:
        ctx: the app's context.
        base_url: the URL the app sees requests on.
        functions: deployed functions (adds ``/api/v1/functions`` and the HTTP triggers).
        client: further ``httpx.Client`` arguments (``auth``, ``timeout``…).
    """
    with start_blocking_portal() as portal:
        transport = AppTransport(create_app(ctx, functions), portal)
        with httpx.Client(transport=transport, base_url=base_url, **client) as http:
            yield http


@pytest.fixture
def app_ctx(tmp_path: Path) -> Iterator[AppContext]:
    """An app context on a fresh SQLite store with the test root key (the store is closed afterwards)."""
    store = open_store(f"sqlite:///{tmp_path / 'app.db'}")
    try:
        yield AppContext(store=store, keyring=KeyRing(TEST_ROOT))
    finally:
        store.close()


@pytest.fixture
def app_client(app_ctx: AppContext) -> Iterator[httpx.Client]:
    """A blocking client of the app of ``app_ctx``, in this process."""
    with in_process(app_ctx) as client:
        yield client
