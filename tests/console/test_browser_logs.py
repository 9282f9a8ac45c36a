"""The step panel shows a function task's request id, stack trace and log tail, as text, in real Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.conftest import sign_in
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until

# What the function prints is HTML a careless page would run.
BOOM = """
def handler(event, context):
    print('<img src=x onerror="window.__pwned = 1"><b id="injected">bold?</b>')
    print("printed by", context.request_id)
    raise ValueError("shown as text")
"""

FLOW = """version: v1
type: flow
steps:
  - type: task
    name: explode
    resourceArn: acs:fc:::services/svc/functions/boom
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real server with the ``svc/boom`` local function."""
    base = tmp_path_factory.mktemp("console-logs")
    (base / "functions" / "svc").mkdir(parents=True)
    (base / "functions" / "svc" / "boom.py").write_text(BOOM)
    srv = ServerProcess(base / "data", env=TEST_KEYS, args=["--functions", str(base / "functions")])
    srv.start()
    yield srv
    srv.stop()


def test_step_panel_shows_the_stack_and_the_log_as_text(page: Any, rest: httpx.Client, shots: Path) -> None:
    assert rest.post("/flows", json={"name": "logs", "definition": FLOW}).status_code == 201
    assert rest.post("/flows/logs/executions", json={"name": "l1"}).status_code == 201
    wait_until(lambda: rest.get("/flows/logs/executions/l1").json()["status"] == "Failed", timeout=30)
    events = rest.get("/flows/logs/executions/l1/history").json()["events"]
    detail = next(e["detail"] for e in events if e["type"] == "TaskFailed")
    request_id = detail["requestId"]

    sign_in(page)
    page.goto(page.url.split("#")[0] + "#/flows/logs/executions/l1")
    page.wait_for_selector("svg.graph g.node[data-step=explode][data-status=failed]")
    page.click("svg.graph g.node[data-step=explode]")
    page.wait_for_selector("#step-panel pre.log-tail")
    assert page.inner_text("#step-panel .request-id") == f"Request {request_id}"
    stack = page.inner_text("#step-panel pre.stack-trace")
    assert "boom.py" in stack and 'raise ValueError("shown as text")' in stack
    log = page.inner_text("#step-panel pre.log-tail")
    assert log.startswith('<img src=x onerror="window.__pwned = 1"><b id="injected">bold?</b>')
    assert f"printed by {request_id}" in log
    assert detail["logBytes"] == len(detail["logTail"].encode()) > 100  # the whole output is shown
    assert page.inner_text("#step-panel details.log summary") == f"Log ({detail['logBytes']} bytes)"
    # Text, never markup: no element was made of it and no script of it ran.
    assert page.locator("#step-panel img, #injected").count() == 0
    assert page.evaluate("window.__pwned") is None
    page.screenshot(path=str(shots / "step-logs.png"), full_page=True)
