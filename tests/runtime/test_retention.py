"""Retention: the period's syntax, sweeps on a store with a pinned clock, and the sweeper in a real server."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from tests.server import TEST_KEYS, ServerProcess
from tests.store.helpers import make_flow, start, step
from tests.waiting import wait_until
from tidegate.errors import ConfigurationError
from tidegate.runtime.retention import Retention, parse_retention
from tidegate.store import ExecutionNotFound, Store

DAY_MS = 86_400_000


@pytest.mark.parametrize(
    ("text", "ms"),
    [("30d", 30 * DAY_MS), ("12h", 12 * 3_600_000), ("90m", 90 * 60_000), ("45s", 45_000), (" 2D ", 2 * DAY_MS)],
)
def test_periods(text: str, ms: int) -> None:
    assert parse_retention(text) == ms


def test_off_keeps_for_ever() -> None:
    assert parse_retention("off") is None


@pytest.mark.parametrize("text", ["", "30", "d", "1.5d", "-1d", "0s", "999s0", "1w", "36601d", "9" * 13 + "s"])
def test_bad_periods_are_refused(text: str) -> None:
    with pytest.raises(ConfigurationError, match="retention"):
        parse_retention(text)


def test_a_sweep_removes_what_ended_before_the_period_batch_after_batch(store: Store) -> None:
    make_flow(store)
    now = 100 * DAY_MS
    old = [start(store, f"old{i}") for i in range(7)]
    for record in old:
        store.commit([step(record, status="Succeeded", stopped_ms=now - 2 * DAY_MS)])
    recent = start(store, "recent")
    store.commit([step(recent, status="Failed", stopped_ms=now - DAY_MS // 2)])
    running = start(store, "running")  # started long ago, still running

    retention = Retention(store, DAY_MS, clock=lambda: now, batch=3, pause_s=0)
    assert retention.sweep() == 7  # three batches: 3, 3, 1
    for record in old:
        with pytest.raises(ExecutionNotFound):
            store.get_execution_by_id(record.id)
    assert store.get_execution_by_id(recent.id).status == "Failed"
    assert store.get_execution_by_id(running.id).status == "Running"
    assert retention.sweep() == 0


def test_a_stopped_sweeper_removes_nothing_more(store: Store) -> None:
    make_flow(store)
    record = start(store, "old")
    store.commit([step(record, status="Succeeded", stopped_ms=1)])
    retention = Retention(store, 1000, clock=lambda: DAY_MS, batch=1, pause_s=0)
    retention.stop()
    assert retention.sweep() == 0
    assert store.get_execution_by_id(record.id).status == "Succeeded"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        Retention(None, 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Retention(None, 1000, batch=0)  # type: ignore[arg-type]


PASS_FLOW = "version: v1\ntype: flow\nsteps:\n  - type: pass\n    name: p\n"
PARENT_FLOW = """version: v1
type: flow
steps:
  - type: task
    name: call
    resourceArn: acs:fnf:::flow/child
    pattern: requestResponse
  - type: wait
    name: w
    duration: 3600
"""
AUTH = {
    "Authorization": "Basic "
    + base64.b64encode(
        f"{TEST_KEYS['TIDEGATE_ACCESS_KEY_ID']}:{TEST_KEYS['TIDEGATE_ACCESS_KEY_SECRET']}".encode()
    ).decode()
}


def test_the_server_removes_ended_executions_in_the_background(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS, args=["--retention", "2s"])
    srv.start()
    rest = httpx.Client(base_url=f"{srv.url}/api/v1", headers=AUTH, timeout=10)
    try:
        for name, definition in (("child", PASS_FLOW), ("parent", PARENT_FLOW)):
            assert rest.post("/flows", json={"name": name, "definition": definition}).status_code == 201
        assert rest.post("/flows/parent/executions", json={"name": "p1"}).status_code == 201

        def child_name() -> str | None:
            items = rest.get("/flows/child/executions").json()["executions"]
            return str(items[0]["name"]) if items and items[0]["status"] == "Succeeded" else None

        child = wait_until(child_name, timeout=60, message="the child flow execution to succeed")
        # Started after the child ended: once it is gone, sweeps have run since the child was due too.
        assert rest.post("/flows/child/executions", json={"name": "later"}).status_code == 201

        def gone(name: str) -> bool:
            return rest.get(f"/flows/child/executions/{name}").status_code == 404

        wait_until(lambda: gone("later"), timeout=60, message=lambda: f"execution 'later' removed\n{srv.log()}")
        assert rest.get(f"/flows/child/executions/{child}").json()["status"] == "Succeeded"  # its parent runs
        assert rest.get("/flows/parent/executions/p1").json()["status"] == "Running"
        assert "retention: removed 1 execution(s)" in srv.log()
    finally:
        srv.stop()
        rest.close()


def test_the_server_refuses_a_bad_period(tmp_path: Path) -> None:
    from tests.cli.helpers import assert_one_line_error, tidegate

    r = tidegate("server", "--data", str(tmp_path / "data"), "--retention", "soon", env=TEST_KEYS)
    assert_one_line_error(r, "retention")
