"""Contract: a failed attempt at applying is deferred durably; an execution is ended without the engine.

``defer`` counts the failure and keeps the execution unclaimed until its next attempt (no owner holds it,
the time is in the row); a successful commit resets the count. ``end_execution`` ends an execution in one
transaction whoever holds its lease, and the holder's later commit conflicts.
"""

from __future__ import annotations

import json

import pytest

from tests.store.helpers import make_flow, now_ms, start, step
from tidegate.status import ExecutionStatus
from tidegate.store import (
    ExecutionRecord,
    HistoryWrite,
    Store,
    TaskCompletion,
    TransitionWrite,
    VersionConflict,
)


def _failed(ex: ExecutionRecord, completions: list[TaskCompletion] | None = None) -> TransitionWrite:
    return TransitionWrite(
        execution_id=ex.id,
        expected_version=ex.version,
        state=None,
        status=ExecutionStatus.FAILED,
        output="",
        error="FnF.RuntimeError",
        cause="boom",
        stopped_ms=5,
        events=[
            HistoryWrite(
                event_id=ex.event_count + 1,
                schedule_event_id=0,
                type="ExecutionFailed",
                time_ms=5,
                detail={"error": "FnF.RuntimeError", "cause": "boom"},
            )
        ],
        task_completions=completions or [],
    )


def test_defer_counts_and_hides_the_execution_until_its_next_attempt(store: Store) -> None:
    make_flow(store)
    ex = start(store, "e1")
    now = now_ms()
    (work,) = store.claim_work("w1", 10, 60_000, now)
    assert work.execution.apply_failures == 0
    assert store.defer(ex.id, "other", now + 5_000) is None  # only the lease holder defers
    assert store.defer(ex.id, "w1", now + 5_000) == 1
    # Nobody holds it, but it is not claimable before its next attempt -- by any owner, after a "restart".
    assert store.claim_work("w2", 10, 60_000, now + 4_999) == []
    assert store.next_timer_ms() == now + 5_000  # the driver's idle loop wakes for the attempt
    (again,) = store.claim_work("w2", 10, 60_000, now + 5_000)
    assert again.execution.apply_failures == 1 and [i.event for i in again.inbox] == [work.inbox[0].event]
    assert store.defer(ex.id, "w2", now + 20_000) == 2
    (third,) = store.claim_work("w1", 10, 60_000, now + 20_000)
    store.commit([step(third.execution, consumed_inbox=[i.id for i in third.inbox])])
    assert store.get_execution_by_id(ex.id).apply_failures == 0  # a transition resets the count


def test_end_execution_whoever_holds_the_lease(store: Store) -> None:
    make_flow(store)
    ex = start(store, "e1")
    now = now_ms()
    (work,) = store.claim_work("w1", 10, 60_000, now)
    store.commit([step(work.execution, consumed_inbox=[i.id for i in work.inbox])])
    store.append_inbox(ex.id, {"type": "Later"})
    (held,) = store.claim_work("w1", 10, 60_000, now_ms())  # leased by a driver (that may keep failing)
    ended = store.end_execution(ex.id, _failed)
    assert ended is not None
    assert (ended.status, ended.error, ended.cause, ended.output, ended.event_count) == (
        "Failed",
        "FnF.RuntimeError",
        "boom",
        "",
        2,
    )
    assert ended.lease_owner is None and ended.stopped_ms == 5
    rows = store.get_history(ex.id)
    assert [(r.event_id, r.type) for r in rows][-1] == (2, "ExecutionFailed")
    assert json.loads(rows[-1].detail) == {"error": "FnF.RuntimeError", "cause": "boom"}
    with pytest.raises(VersionConflict):  # the holder's work is refused
        store.commit([step(held.execution, consumed_inbox=[i.id for i in held.inbox])])
    assert store.claim_work("w2", 10, 60_000, now + 120_000) == []  # its queued event was dropped
    assert store.end_execution(ex.id, _failed) is None  # already ended: nothing written
    assert len(store.get_history(ex.id)) == 2


def test_end_execution_completes_the_parents_task(store: Store) -> None:
    make_flow(store)
    parent = start(store, "parent")
    child = start(store, "child")
    (pw, _) = sorted(store.claim_work("w1", 10, 60_000, now_ms()), key=lambda w: w.execution.id)
    store.commit([step(pw.execution, consumed_inbox=[i.id for i in pw.inbox], tasks_open=["2.1"])])
    event = {"type": "TaskFailed", "task_key": "2.1", "error": "FnF.RuntimeError", "cause": "boom"}
    completion = TaskCompletion(execution_id=parent.id, task_key="2.1", event=event)
    assert store.end_execution(child.id, lambda row: _failed(row, [completion])) is not None
    task = store.get_task(parent.id, "2.1")
    assert task is not None and task.status == "done"
    (work,) = store.claim_work("w1", 10, 60_000, now_ms())
    assert work.execution.id == parent.id and [i.event for i in work.inbox] == [event]


def _corrupt(store: Store, sql: str) -> None:
    """Write a row this version cannot read, below every API (a hand edit, an older bug)."""
    with store.database.write() as tx:
        tx.raw_count(sql)


def test_an_unreadable_row_is_handed_over_as_such_and_spares_its_batch(store: Store) -> None:
    make_flow(store)
    bad_state, bad_event, fine = start(store, "e1"), start(store, "e2"), start(store, "e3")
    works = store.claim_work("w1", 10, 60_000, now_ms())
    store.commit([step(w.execution, consumed_inbox=[i.id for i in w.inbox]) for w in works])
    for ex in (bad_state, bad_event, fine):
        store.append_inbox(ex.id, {"type": "Later"})
    _corrupt(store, f"UPDATE executions SET state = 'not json' WHERE id = {bad_state.id}")
    _corrupt(store, f"UPDATE inbox SET event = '{{' WHERE execution_id = {bad_event.id}")
    works = store.claim_work("w1", 10, 60_000, now_ms())
    by_id = {w.execution.id: w for w in works}
    assert set(by_id) == {bad_state.id, bad_event.id, fine.id}
    assert (by_id[bad_state.id].execution.state, by_id[fine.id].unreadable) == (None, None)
    assert "stored state is not JSON" in (by_id[bad_state.id].unreadable or "")
    assert "queued event" in (by_id[bad_event.id].unreadable or "")
    assert [i.event for i in by_id[fine.id].inbox] == [{"type": "Later"}]
    ended = store.end_execution(bad_state.id, _failed)  # ending needs nothing of what cannot be read
    assert ended is not None and ended.status == "Failed"
