"""DeleteFlow: running executions stop at once, then every row of the flow's executions is purged."""

from __future__ import annotations

from typing import Any

import pytest

from tests.store.helpers import make_flow, start, step
from tidegate.store import (
    ExecutionNotFound,
    ExecutionRecord,
    JobWrite,
    Store,
    TimerWrite,
    VersionConflict,
)

TABLES = ("executions", "history", "tasks", "inbox", "timers", "jobs")


def rows_of(store: Store, ids: list[int]) -> dict[str, int]:
    """How many rows each table holds for these executions (read straight from the tables)."""
    db: Any = getattr(store, "db")  # noqa: B009  (the SQL store's database, for a direct look)
    where = ", ".join(str(int(i)) for i in ids)
    counts = {}
    with db.read() as tx:
        for table in TABLES:
            column = "id" if table == "executions" else "execution_id"
            counts[table] = int(tx.raw(f"SELECT COUNT(*) AS n FROM {table} WHERE {column} IN ({where})")[0]["n"])
    return counts


def busy_execution(store: Store, name: str, flow: str = "flow1") -> ExecutionRecord:
    """A running execution with history, an open task, a timer, a job and two inbox items (start, poke)."""
    record = start(store, name, flow)
    store.commit(
        [
            step(
                record,
                n_events=3,
                tasks_open=["2.1"],
                timers_add=[TimerWrite(key="t", fire_at_ms=10**13, event={"type": "Timeout"})],
                jobs=[JobWrite(kind="fc", payload={"x": 1}, task_key="2.1", available_ms=10**13)],
            )
        ]
    )
    assert store.append_inbox(record.id, {"type": "Poke"}, available_ms=10**13)
    return store.get_execution_by_id(record.id)


def test_delete_flow_stops_running_executions_at_once(store: Store) -> None:
    make_flow(store)
    busy = busy_execution(store, "busy")
    ended = start(store, "ended")
    store.commit([step(ended, status="Succeeded", output="{}", stopped_ms=5)])
    other_flow = make_flow(store, "other")
    bystander = busy_execution(store, "busy", "other")

    flow_id = store.delete_flow("flow1").id

    stopped = store.get_execution_by_id(busy.id)
    assert stopped.status == "Stopped" and stopped.error == "FnF.FlowDeleted" and stopped.version == busy.version + 1
    assert store.get_execution_by_id(ended.id).status == "Succeeded"
    # Nothing of it can be driven or completed: no inbox, timer or job left, the task is cancelled.
    assert rows_of(store, [busy.id]) == {
        "executions": 1,
        "history": 3,
        "tasks": 1,
        "inbox": 0,
        "timers": 0,
        "jobs": 0,
    }
    task = store.get_task(busy.id, "2.1")
    assert task is not None and task.status == "cancelled"
    assert not store.complete_task(busy.id, "2.1", {"type": "TaskSucceeded"})
    assert not store.append_inbox(busy.id, {"type": "Poke"})
    with pytest.raises(VersionConflict):  # a driver that held it cannot commit its transition
        store.commit([step(busy)])
    # The other flow's execution is untouched.
    assert rows_of(store, [bystander.id]) == {
        "executions": 1,
        "history": 3,
        "tasks": 1,
        "inbox": 2,
        "timers": 1,
        "jobs": 1,
    }
    assert store.deleted_flow_ids() == [flow_id] and flow_id != other_flow.id


def test_purge_removes_every_row_in_bounded_batches(store: Store) -> None:
    make_flow(store)
    ids = [busy_execution(store, f"e{i}").id for i in range(5)]
    make_flow(store, "other")
    bystander = busy_execution(store, "e0", "other")
    flow_id = store.get_flow("flow1").id
    assert store.purge_flow_executions(flow_id, 10) == 0  # a live flow's executions are never purged

    assert store.delete_flow("flow1").id == flow_id
    assert store.purge_flow_executions(flow_id, 2) == 2
    assert rows_of(store, ids[:2]) == dict.fromkeys(TABLES, 0)
    assert rows_of(store, ids[2:])["executions"] == 3
    assert store.purge_flow_executions(flow_id, 2) == 2
    assert store.purge_flow_executions(flow_id, 2) == 1
    assert store.purge_flow_executions(flow_id, 2) == 0
    assert rows_of(store, ids) == dict.fromkeys(TABLES, 0)
    assert store.deleted_flow_ids() == []
    for i in ids:
        with pytest.raises(ExecutionNotFound):
            store.get_execution_by_id(i)
    assert rows_of(store, [bystander.id])["history"] == 3
    with pytest.raises(ValueError):
        store.purge_flow_executions(flow_id, 0)


def test_recreated_flow_is_untouched_by_the_purge_of_the_old_one(store: Store) -> None:
    make_flow(store)
    old = busy_execution(store, "same")
    old_id = store.delete_flow("flow1").id
    make_flow(store)
    new = busy_execution(store, "same")
    while store.purge_flow_executions(old_id, 1):
        pass
    assert rows_of(store, [old.id]) == dict.fromkeys(TABLES, 0)
    assert rows_of(store, [new.id]) == {"executions": 1, "history": 3, "tasks": 1, "inbox": 2, "timers": 1, "jobs": 1}
    assert store.get_execution("flow1", "same").id == new.id and new.status == "Running"


def test_delete_flow_returns_the_callback_tokens_of_stopped_children(store: Store) -> None:
    make_flow(store, "children")
    running = start(store, "child", "children", callback_token="parent-token")
    done = start(store, "done-child", "children", callback_token="other-token")
    store.commit([step(done, status="Succeeded", output="{}", stopped_ms=5)])
    start(store, "orphan", "children")
    deleted = store.delete_flow("children")
    assert deleted.parent_tokens == ("parent-token",)  # only running children: an ended one has reported
    assert store.get_execution_by_id(running.id).status == "Stopped"
