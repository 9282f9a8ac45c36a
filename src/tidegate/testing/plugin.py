"""The pytest plugin of tidegate (entry point ``pytest11``: loaded wherever tidegate is installed).

Fixtures:

* ``tidegate_server``: a :class:`~tidegate.testing.TidegateServer` for one test (function scope), on a data
  folder under the test's ``tmp_path``; its ``fnf_client()`` and ``mns_account()`` skip the test when the
  official SDK is not installed.
* ``tidegate_server_factory``: starts more servers (``factory(region="cn-shanghai")``), all closed after
  the test.

``pytest -p no:tidegate`` turns the plugin off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tidegate.testing.server import TidegateServer


@pytest.fixture
def tidegate_server_factory(tmp_path: Path) -> Iterator[Callable[..., TidegateServer]]:
    """Start tidegate servers (arguments of :class:`TidegateServer` but the folder); closed after the test."""
    from tidegate.testing.server import TidegateServer

    servers: list[TidegateServer] = []

    def start(**options: Any) -> TidegateServer:
        options.setdefault("missing_sdk", pytest.skip)
        server = TidegateServer(tmp_path / f"tidegate-{len(servers)}", **options)
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(servers):
            server.close()


@pytest.fixture
def tidegate_server(tidegate_server_factory: Callable[..., TidegateServer]) -> TidegateServer:
    """A tidegate server for this test: real socket, temporary SQLite store, runtime, new root key."""
    return tidegate_server_factory()
