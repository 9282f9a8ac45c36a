"""A real ``tidegate server`` for the API tests (one per session), with local functions for callbacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sdkenv import fnfcore_env, fnftea_env  # noqa: F401  (session fixtures)
from tests.server import TEST_KEYS, ServerProcess

# A function for waitForCallback steps: it only acknowledges; the test reports with the token it finds
# in the history (TaskScheduled input).
ACK_FUNCTION = """
def handler(event, context):
    return {"submitted": True}
"""


def write_functions(root: Path) -> Path:
    """Create ``root/svc/ack.py`` and return ``root`` (the ``--functions`` folder)."""
    (root / "svc").mkdir(parents=True, exist_ok=True)
    (root / "svc" / "ack.py").write_text(ACK_FUNCTION)
    return root


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A running server with the fixed test keys and the ``svc/ack`` function."""
    base = tmp_path_factory.mktemp("tidegate")
    functions = write_functions(base / "functions")
    srv = ServerProcess(base / "data", env=TEST_KEYS, args=["--functions", str(functions)])
    srv.start()
    yield srv
    srv.stop()
