"""Every status the store can hold comes back as the enum member it was written as, on both backends."""

from __future__ import annotations

import pytest

from tests.store.helpers import make_flow, start, step
from tidegate.status import ACTIVE, TERMINAL, ExecutionStatus
from tidegate.store import STATUS_PARAMS, Store, TaskStatus, UnreadableRecord


def test_statuses_partition_into_active_and_terminal() -> None:
    assert ACTIVE | TERMINAL == set(ExecutionStatus) and not ACTIVE & TERMINAL
    assert [s.value for s in ExecutionStatus] == ["Starting", "Running", "Stopped", "Succeeded", "Failed", "TimedOut"]


def test_status_params_carry_every_status_value() -> None:
    assert {v for k, v in STATUS_PARAMS.items() if not k.startswith("task_")} == set(ExecutionStatus)
    assert {v for k, v in STATUS_PARAMS.items() if k.startswith("task_")} == set(TaskStatus)


@pytest.mark.parametrize("status", list(ExecutionStatus))
def test_every_execution_status_round_trips(store: Store, status: ExecutionStatus) -> None:
    make_flow(store)
    initial = status if status in ACTIVE else ExecutionStatus.RUNNING
    record = start(store, "e1", status=initial)
    assert type(record.status) is ExecutionStatus and record.status is initial
    if status in TERMINAL:
        store.commit([step(record, status=status, output="{}", stopped_ms=2000)])
    for read in (
        store.get_execution("flow1", "e1"),
        store.get_execution_by_id(record.id),
        *store.list_executions("flow1", status=status).items,
    ):
        assert type(read.status) is ExecutionStatus and read.status is status
        assert read.ended == (status in TERMINAL)
    others = [s for s in ExecutionStatus if s != status]
    assert all(not store.list_executions("flow1", status=s).items for s in others)


def test_an_active_status_keeps_the_execution_claimable_and_a_terminal_one_does_not(store: Store) -> None:
    make_flow(store)
    starting = start(store, "starting", status=ExecutionStatus.STARTING)
    running = start(store, "running")
    ended = start(store, "ended")
    store.commit([step(ended, status=ExecutionStatus.STOPPED, stopped_ms=2000)])
    claimed = store.claim_work("w", 10, 60_000, now_ms=10_000)
    assert sorted(w.execution.id for w in claimed) == sorted([starting.id, running.id])
    assert not store.append_inbox(ended.id, {"type": "late"})
    assert store.append_inbox(running.id, {"type": "more"})


def test_every_task_status_round_trips(store: Store) -> None:
    make_flow(store)
    record = start(store, "e1")
    store.commit([step(record, tasks_open=["done", "cancelled", "open"])])
    record = store.get_execution_by_id(record.id)
    store.commit([step(record, tasks_cancel=["cancelled"])])
    assert store.complete_task(record.id, "done", {"type": "TaskSucceeded"})
    for key, status in (("open", TaskStatus.OPEN), ("done", TaskStatus.DONE), ("cancelled", TaskStatus.CANCELLED)):
        task = store.get_task(record.id, key)
        assert task is not None and type(task.status) is TaskStatus and task.status is status
    record = store.get_execution_by_id(record.id)
    store.commit([step(record, status=ExecutionStatus.FAILED, stopped_ms=2000)])
    closed = store.get_task(record.id, "open")
    assert closed is not None and closed.status is TaskStatus.CANCELLED  # an ended execution keeps no open task


def test_a_stored_status_that_is_not_one_is_an_unreadable_record(store: Store) -> None:
    make_flow(store)
    record = start(store, "e1")
    with store.db.write() as tx:  # type: ignore[attr-defined]
        tx.raw_count(f"UPDATE executions SET status = 'Paused' WHERE id = {record.id}")
    with pytest.raises(UnreadableRecord, match="unknown status 'Paused'"):
        store.get_execution_by_id(record.id)
