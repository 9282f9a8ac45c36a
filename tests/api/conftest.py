"""A real ``tidegate server`` for the API tests (one per session), with local functions for callbacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.scenarios import write_functions
from tests.sdkenv import fnfcore_env, fnftea_env  # noqa: F401  (session fixtures)
from tests.server import TEST_KEYS, ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A running server with the fixed test keys and the ``svc/ack`` function."""
    base = tmp_path_factory.mktemp("tidegate")
    functions = write_functions(base / "functions")
    srv = ServerProcess(base / "data", env=TEST_KEYS, args=["--functions", str(functions)])
    srv.start()
    yield srv
    srv.stop()
