"""One real server for the example tests, started with ``--deploy examples`` as ``make run`` does."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import REPO
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until

AUTH = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server that deployed ``examples/*/deploy.yaml`` at start (the function's SDK installed by pip)."""
    srv = ServerProcess(
        tmp_path_factory.mktemp("examples") / "data", env=TEST_KEYS, args=["--deploy", str(REPO / "examples")]
    )
    srv.start()

    def deployed() -> bool:
        log = srv.log()
        assert "tidegate.deploy: deploying" not in log, log  # the deploy failed
        return "tidegate.deploy: deployed" in log

    # The first deploy pip-installs the function's SDK.
    wait_until(deployed, timeout=300, interval=0.2, message=lambda: f"the deploy to finish:\n{srv.log()}")
    yield srv
    srv.stop()


def wait_execution(server: ServerProcess, flow: str, name: str, timeout_s: float = 60) -> dict[str, object]:
    """Long-poll the REST API until the execution ends (or fail at the deadline); return its document."""
    with httpx.Client(base_url=server.url + "/api/v1", auth=AUTH, timeout=30) as api:

        def ended() -> dict[str, object] | None:
            doc: dict[str, object] = api.get(f"/flows/{flow}/executions/{name}", params={"wait": 10}).json()
            return doc if doc["status"] != "Running" else None

        # No pause between checks: each request itself waits (up to 10 s) for the execution to end.
        return wait_until(ended, timeout=timeout_s, interval=0, message=f"{flow}/{name} to end")


def history_types(server: ServerProcess, flow: str, name: str) -> list[dict[str, object]]:
    """The execution's history events (REST documents)."""
    with httpx.Client(base_url=server.url + "/api/v1", auth=AUTH, timeout=30) as api:
        events: list[dict[str, object]] = api.get(f"/flows/{flow}/executions/{name}/history").json()["events"]
        return events
