"""Task heartbeats, timers that end their task, and the list of tasks waiting on a callback (both stores)."""

from __future__ import annotations

import pytest

from tests.store.helpers import make_flow, start, step
from tidegate.store import (
    ExecutionRecord,
    InvalidPageToken,
    JobWrite,
    Store,
    TaskOpen,
    TaskStatus,
    TimerWrite,
)

CALLBACK = "waitForCallback"


def _task(key: str, heartbeat_ms: int | None = None, pattern: str = CALLBACK) -> TaskOpen:
    return TaskOpen(
        key=key,
        step_name="work",
        resource="acs:mns:::/queues/jobs/messages",
        pattern=pattern,
        attempt=1,
        heartbeat_ms=heartbeat_ms,
    )


def _waiting(store: Store, name: str, key: str = "2.1", heartbeat_ms: int | None = 2_000) -> ExecutionRecord:
    """An execution whose task ``key`` waits with a timeout timer (at 50 s) and a heartbeat timer (at 2 s)."""
    e = start(store, name)
    timers = [TimerWrite(key=f"{key}.timeout", fire_at_ms=50_000, event={"t": "timeout"}, task_key=key)]
    if heartbeat_ms is not None:
        hb = TimerWrite(key=f"{key}.heartbeat", fire_at_ms=2_000, event={"t": "hb"}, task_key=key, heartbeat_ms=2_000)
        timers.append(hb)
    store.commit([step(e, tasks_open=[_task(key, heartbeat_ms)], timers_add=timers)])
    return store.get_execution_by_id(e.id)


def _heartbeat_due(store: Store, execution_id: int) -> list[int]:
    """When the execution's heartbeat timer fires, read through the waiting list's deadline."""
    page = store.list_waiting_tasks(limit=100)
    return [t.deadline_ms for t in page.items if t.execution_id == execution_id and t.deadline_ms is not None]


def test_a_heartbeat_records_itself_and_moves_the_heartbeat_timer_only(store: Store) -> None:
    make_flow(store)
    e = _waiting(store, "e1")
    assert _heartbeat_due(store, e.id) == [2_000]
    assert store.heartbeat_task(e.id, "2.1", now_ms=10_000)
    task = store.get_task(e.id, "2.1")
    assert task is not None and task.last_heartbeat_ms == 10_000 and task.heartbeat_ms == 2_000
    assert (task.step_name, task.pattern, task.attempt) == ("work", CALLBACK, 1)
    # The heartbeat timer moved to 12 s; the timeout (50 s) stays: the deadline is now the heartbeat's.
    assert _heartbeat_due(store, e.id) == [12_000]
    assert store.move_due_timers(now_ms=11_999) == 0
    assert store.get_execution_by_id(e.id).version == e.version  # no transition, no history event
    assert store.get_history(e.id)[-1].event_id == e.event_count


def test_a_task_without_heartbeat_seconds_records_a_heartbeat_too(store: Store) -> None:
    make_flow(store)
    e = _waiting(store, "e1", heartbeat_ms=None)
    assert store.heartbeat_task(e.id, "2.1", now_ms=5_000)
    task = store.get_task(e.id, "2.1")
    assert task is not None and task.last_heartbeat_ms == 5_000
    assert _heartbeat_due(store, e.id) == [50_000]  # the timeout did not move


def test_a_fired_task_timer_closes_its_task_so_reports_and_heartbeats_are_refused(store: Store) -> None:
    make_flow(store)
    e = _waiting(store, "e1")
    other = _waiting(store, "e2")
    assert store.heartbeat_task(other.id, "2.1", now_ms=1_500)  # e2's deadline moves to 3.5 s
    assert store.move_due_timers(now_ms=2_500) == 1  # e1's heartbeat timer only
    task = store.get_task(e.id, "2.1")
    assert task is not None and task.status is TaskStatus.CANCELLED
    assert not store.heartbeat_task(e.id, "2.1", now_ms=2_600)
    assert not store.complete_task(e.id, "2.1", {"type": "TaskSucceeded", "task_key": "2.1", "output": {}})
    # The fired timer's event waits in the inbox for the engine; e2 still waits.
    works = {w.execution.id: w for w in store.claim_work("w", 10, 1_000, now_ms=2_600)}
    assert [i.event for i in works[e.id].inbox][-1] == {"t": "hb"}
    assert [t.execution_id for t in store.list_waiting_tasks().items] == [other.id]


def test_a_timer_that_names_no_task_closes_none(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, tasks_open=[_task("2.1")], timers_add=[TimerWrite(key="2.1.retry", fire_at_ms=5, event={})])])
    assert store.move_due_timers(now_ms=10) == 1
    task = store.get_task(e.id, "2.1")
    assert task is not None and task.status is TaskStatus.OPEN


def test_a_heartbeat_of_a_closed_or_unknown_task_is_refused(store: Store) -> None:
    make_flow(store)
    e = _waiting(store, "e1")
    assert store.complete_task(e.id, "2.1", {"type": "TaskSucceeded", "task_key": "2.1", "output": {}})
    assert not store.heartbeat_task(e.id, "2.1", now_ms=3_000)
    assert not store.heartbeat_task(e.id, "9.9", now_ms=3_000)
    task = store.get_task(e.id, "2.1")
    assert task is not None and task.last_heartbeat_ms is None


def test_the_waiting_list_pages_by_age_both_ways_and_filters_by_flow(store: Store) -> None:
    make_flow(store)
    make_flow(store, "flow2")
    ids = [_waiting(store, f"e{i}").id for i in range(5)]
    other = start(store, "x", flow="flow2")
    store.commit([step(other, tasks_open=[_task("3.2")])])
    ids.append(other.id)
    # Not waiting on a callback: a requestResponse task, a task whose invocation is pending, a closed one.
    busy = start(store, "busy")
    store.commit(
        [
            step(
                busy,
                tasks_open=[_task("2.1", pattern="requestResponse"), _task("3.1")],
                jobs=[JobWrite(kind="task", payload={}, task_key="3.1")],
            )
        ]
    )
    done = _waiting(store, "done")
    store.complete_task(done.id, "2.1", {"type": "TaskSucceeded", "task_key": "2.1", "output": {}})

    seen, token = [], None
    while True:
        page = store.list_waiting_tasks(limit=2, next_token=token)
        seen += [(t.execution_id, t.task_key) for t in page.items]
        token = page.next_token
        if token is None:
            break
    assert seen == [(i, "2.1") for i in ids[:5]] + [(other.id, "3.2")]
    newest = store.list_waiting_tasks(newest_first=True, limit=4)
    second = store.list_waiting_tasks(newest_first=True, limit=4, next_token=newest.next_token)
    assert [t.execution_id for t in newest.items + second.items] == ids[::-1]
    assert second.next_token is None
    (only,) = store.list_waiting_tasks(flow_name="flow2").items
    assert (only.flow_name, only.execution_name, only.task_key, only.deadline_ms) == ("flow2", "x", "3.2", None)
    first = store.list_waiting_tasks(limit=1).items[0]
    assert (first.step_name, first.resource, first.attempt, first.heartbeat_ms) == (
        "work",
        "acs:mns:::/queues/jobs/messages",
        1,
        2_000,
    )


def test_a_task_opened_by_key_alone_is_listed_without_details(store: Store) -> None:
    make_flow(store)
    e = start(store, "old")
    store.commit([step(e, tasks_open=["2.1"])])
    (t,) = store.list_waiting_tasks().items
    assert (t.task_key, t.step_name, t.pattern, t.attempt) == ("2.1", None, None, None)


@pytest.mark.parametrize("token", ["", "x", "1:2", "a:1:2.1", "1:b:2.1", "1:2:", f"{2**62}:1:2.1", "1:2:é"])
def test_a_bad_waiting_list_token_is_refused(store: Store, token: str) -> None:
    if not token:
        assert store.list_waiting_tasks(next_token=token).items == []
        return
    with pytest.raises(InvalidPageToken):
        store.list_waiting_tasks(next_token=token)
