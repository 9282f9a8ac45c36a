"""One real server for the example tests, started with ``--deploy examples`` as ``make run`` does."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import REPO
from tests.server import TEST_KEYS, ServerProcess

AUTH = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that deployed ``examples/*/deploy.yaml`` at start (the function's SDK installed by pip)."""
    srv = ServerProcess(
        tmp_path_factory.mktemp("examples") / "data", env=TEST_KEYS, args=["--deploy", str(REPO / "examples")]
    )
    srv.start()
    deadline = time.monotonic() + 300  # the first deploy pip-installs the function's SDK
    while "tidegate.deploy: deployed" not in srv.log() and time.monotonic() < deadline:
        assert "tidegate.deploy: deploying" not in srv.log(), srv.log()  # the deploy failed
        time.sleep(0.2)  # polling a condition (the deploy finished) within a deadline
    assert "tidegate.deploy: deployed" in srv.log(), srv.log()
    yield srv
    srv.stop()


def wait_execution(server: ServerProcess, flow: str, name: str, timeout_s: float = 60) -> dict[str, object]:
    """Long-poll the REST API until the execution ends (or the deadline passes); return its document."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=server.url + "/api/v1", auth=AUTH, timeout=30) as api:
        doc: dict[str, object] = api.get(f"/flows/{flow}/executions/{name}").json()
        while doc["status"] == "Running" and time.monotonic() < deadline:
            doc = api.get(f"/flows/{flow}/executions/{name}", params={"wait": 10}).json()
        return doc


def history_types(server: ServerProcess, flow: str, name: str) -> list[dict[str, object]]:
    """The execution's history events (REST documents)."""
    with httpx.Client(base_url=server.url + "/api/v1", auth=AUTH, timeout=30) as api:
        events: list[dict[str, object]] = api.get(f"/flows/{flow}/executions/{name}/history").json()["events"]
        return events
