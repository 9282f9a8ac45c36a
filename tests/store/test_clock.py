"""One clock: every time the store writes without being given one comes from the clock passed at open."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.store.helpers import make_flow, start, step
from tidegate.store import Delivery, ExecutionRecord, JobWrite, Store, TransitionWrite, open_store

#: Far from the wall clock, so a time read from it anywhere shows.
PINNED = 1_234_567


@pytest.fixture
def pinned(store_url: str) -> Iterator[Store]:
    s = open_store(store_url, clock=lambda: PINNED)
    yield s
    s.close()


def _times(store: Store, sql: str, params: dict[str, Any]) -> list[Any]:
    with store.database.read() as tx:
        return [tuple(row.values()) for row in tx.raw(sql, params)]


def _q(store: Store, sql: str) -> str:
    """``:name`` parameters in the backend's style (psycopg wants ``%(name)s``)."""
    if store.database.dialect == "postgres":
        return re.sub(r":(\w+)", r"%(\1)s", sql)
    return sql


def _inbox_times(store: Store, execution_id: int) -> list[int]:
    sql = _q(store, "SELECT available_ms FROM inbox WHERE execution_id = :e ORDER BY id")
    return [int(r[0]) for r in _times(store, sql, {"e": execution_id})]


def _task_times(store: Store, execution_id: int) -> dict[str, tuple[int, int | None]]:
    sql = _q(store, "SELECT task_key, created_ms, closed_ms FROM tasks WHERE execution_id = :e")
    return {str(k): (int(c), None if d is None else int(d)) for k, c, d in _times(store, sql, {"e": execution_id})}


def test_the_times_a_range_of_operations_write_are_the_pinned_clock(pinned: Store) -> None:
    s = pinned
    with s.database.read() as tx:
        assert {int(r["applied_ms"]) for r in tx.raw("SELECT applied_ms FROM schema_migrations")} == {PINNED}

    make_flow(s)
    e1, e2, e3 = (start(s, f"e{i}", started_ms=1000) for i in (1, 2, 3))
    assert _inbox_times(s, e1.id) == [1000]  # the start event: the execution's own start time

    # append_inbox without a time: now
    assert s.append_inbox(e1.id, {"n": 1})
    assert _inbox_times(s, e1.id) == [1000, PINNED]

    # commit: tasks opened, jobs created, events delivered to another execution
    job = JobWrite(kind="k", payload={}, task_key="t1", available_ms=5)
    s.commit([step(e1, tasks_open=["t1", "t2"], jobs=[job], deliveries=[Delivery(execution_id=e2.id, event={})])])
    assert _task_times(s, e1.id) == {"t1": (PINNED, None), "t2": (PINNED, None)}
    assert [int(r[0]) for r in _times(s, "SELECT created_ms FROM jobs", {})] == [PINNED]
    assert _inbox_times(s, e2.id) == [1000, PINNED]

    # a reported task result closes the task and queues its event, now
    assert s.complete_task(e1.id, "t2", {"done": 2})
    assert _task_times(s, e1.id)["t2"] == (PINNED, PINNED)
    assert _inbox_times(s, e1.id) == [1000, PINNED, PINNED]

    # a finished job closes its task, now
    (claimed,) = s.claim_jobs("x", ["k"], 1, lease_ms=60_000, now_ms=10)
    assert s.finish_job(claimed.id, {"done": 1})
    assert _task_times(s, e1.id)["t1"] == (PINNED, PINNED)

    # ending an execution cancels its open tasks, now
    s.commit([step(e3, tasks_open=["t"])])
    e3 = s.get_execution_by_id(e3.id)

    def stop(rec: ExecutionRecord) -> TransitionWrite:
        return step(rec, status="Stopped", stopped_ms=2000)

    assert s.end_execution(e3.id, stop) is not None
    assert _task_times(s, e3.id) == {"t": (PINNED, PINNED)}

    # deleting a flow stops its running executions and cancels their tasks, now
    make_flow(s, "flow2")
    e4 = start(s, "e4", flow="flow2", started_ms=1000)
    s.commit([step(e4, tasks_open=["t"])])
    s.delete_flow("flow2")
    assert _task_times(s, e4.id) == {"t": (PINNED, PINNED)}
    sql = _q(s, "SELECT stopped_ms FROM executions WHERE id = :e")
    assert _times(s, sql, {"e": e4.id}) == [(PINNED,)]


def test_the_default_clock_is_the_wall_clock(store: Store) -> None:
    from tidegate.clock import now_ms

    assert store.clock is now_ms
