"""tidegate.testing: a real tidegate server in your tests' process, and its pytest fixture.

With tidegate installed, pytest loads :mod:`tidegate.testing.plugin` by itself (an entry point), which
gives every test the ``tidegate_server`` fixture: a :class:`TidegateServer` on a real socket, a temporary
SQLite store, the runtime running and a new root key, closed after the test::

    def test_callback_flow(tidegate_server):
        tidegate_server.deploy("deploy.yaml")
        tidegate_server.worker("fnf-demo", handle)            # a tidegate.sdk Worker in a thread
        tidegate_server.start_execution("my-flow", "run-1", {"key": "value"})
        assert tidegate_server.wait_execution("my-flow", "run-1").status == "Succeeded"

docs/testing-flows.md describes it.
"""

from __future__ import annotations

from tidegate.testing.server import MovableClock, TidegateServer, serve_app

__all__ = ["MovableClock", "TidegateServer", "serve_app"]
