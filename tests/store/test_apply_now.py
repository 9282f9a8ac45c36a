"""Applying an execution's events in the transaction that queues them (``apply``), on both backends."""

from __future__ import annotations

from typing import Any

from tests.store.helpers import make_flow, now_ms, start, step
from tidegate.store import WORK, ExecutionRecord, JobWrite, Store, TransitionWrite, Work


class Recorder:
    """An ``apply`` that records what it was given and moves the execution one step on (or declines)."""

    def __init__(self, decline: bool = False) -> None:
        self.seen: list[Work] = []
        self.decline = decline

    def __call__(self, work: Work) -> TransitionWrite | None:
        self.seen.append(work)
        if self.decline:
            return None
        return step(work.execution, consumed_inbox=[i.id for i in work.inbox])

    def events(self) -> list[list[dict[str, Any]]]:
        return [[dict(i.event) for i in w.inbox] for w in self.seen]


def _waiting_on(store: Store, name: str, task_key: str = "t1") -> ExecutionRecord:
    """An execution that has applied its start and waits on an open task (no lease, empty inbox)."""
    make_flow(store)
    e = start(store, name)
    (work,) = store.claim_work("driver", 10, 60_000, now_ms=now_ms())
    store.commit([step(e, consumed_inbox=[i.id for i in work.inbox], tasks_open=[task_key])])
    return store.get_execution("flow1", name)


def test_a_start_is_applied_in_its_own_transaction(store: Store) -> None:
    make_flow(store)
    apply = Recorder()
    record, created = store.create_execution(
        ExecutionRecord(flow_name="flow1", name="e1", definition="", input="{}", started_ms=1000),
        {"type": "Start"},
        apply,
    )
    assert created and record.definition == "version: v1"  # the flow's definition, snapshotted
    assert apply.events() == [[{"type": "Start"}]]
    after = store.get_execution("flow1", "e1")
    assert (after.version, after.event_count) == (1, 1)
    assert [h.event_id for h in store.get_history(after.id)] == [1]
    assert store.claim_work("driver", 10, 60_000, now_ms=now_ms()) == []  # nothing left for the driver


def test_a_report_is_applied_in_its_own_transaction(store: Store) -> None:
    e = _waiting_on(store, "e1")
    apply = Recorder()
    since = store.notifier.seq()
    assert store.complete_task(e.id, "t1", {"type": "TaskSucceeded", "n": 1}, apply)
    assert apply.events() == [[{"type": "TaskSucceeded", "n": 1}]]
    assert apply.seen[0].execution.version == e.version
    assert store.get_execution("flow1", "e1").version == e.version + 1
    assert store.claim_work("driver", 10, 60_000, now_ms=now_ms()) == []
    assert not store.notifier.wait(WORK, 0.3, since=since)  # the driver is not woken for nothing
    assert not store.complete_task(e.id, "t1", {"type": "again"}, apply)  # exactly once
    assert len(apply.seen) == 1


def test_a_leased_execution_is_left_to_its_driver(store: Store) -> None:
    e = _waiting_on(store, "e1")
    store.append_inbox(e.id, {"type": "Other"})
    (held,) = store.claim_work("driver", 10, 60_000, now_ms=now_ms())  # a driver is working on it
    apply = Recorder()
    assert store.complete_task(e.id, "t1", {"type": "TaskSucceeded"}, apply)
    assert apply.seen == []
    assert store.get_execution("flow1", "e1").version == e.version
    later = store.claim_work("other", 10, 60_000, now_ms=now_ms() + 120_000)  # after the lease expires
    assert [i.event["type"] for i in later[0].inbox] == ["Other", "TaskSucceeded"]
    assert held.execution.id == e.id


def test_a_declined_apply_leaves_the_event_queued_and_wakes_the_driver(store: Store) -> None:
    e = _waiting_on(store, "e1")
    apply = Recorder(decline=True)
    since = store.notifier.seq()
    assert store.complete_task(e.id, "t1", {"type": "TaskSucceeded"}, apply)
    assert len(apply.seen) == 1
    assert store.notifier.wait(WORK, 5, since=since)  # PostgreSQL's notifications arrive asynchronously
    (work,) = store.claim_work("driver", 10, 60_000, now_ms=now_ms())
    assert [i.event for i in work.inbox] == [{"type": "TaskSucceeded"}]


def test_an_ended_execution_is_not_applied(store: Store) -> None:
    e = _waiting_on(store, "e1")
    store.commit([step(e, status="Succeeded", state=None, output="{}", stopped_ms=5)])
    apply = Recorder()
    assert not store.complete_task(e.id, "t1", {"type": "TaskSucceeded"}, apply)  # its tasks were cancelled
    assert apply.seen == []


def test_a_finished_job_is_applied_in_its_own_transaction(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    (work,) = store.claim_work("driver", 10, 60_000, now_ms=now_ms())
    job = JobWrite(kind="fn", payload={}, task_key="t1")
    store.commit([step(e, consumed_inbox=[i.id for i in work.inbox], tasks_open=["t1"], jobs=[job])])
    (claimed,) = store.claim_jobs("exec", ["fn"], 10, 60_000, now_ms=now_ms())
    apply = Recorder()
    assert store.finish_job(claimed.id, {"type": "TaskSucceeded"}, apply)
    assert apply.events() == [[{"type": "TaskSucceeded"}]]
    assert store.get_execution("flow1", "e1").version == 2


def test_queued_events_are_applied_before_the_new_one_and_consumed(store: Store) -> None:
    e = _waiting_on(store, "e1")
    store.append_inbox(e.id, {"type": "Earlier"})
    apply = Recorder()
    assert store.complete_task(e.id, "t1", {"type": "TaskSucceeded"}, apply)
    assert apply.events() == [[{"type": "Earlier"}, {"type": "TaskSucceeded"}]]
    assert store.claim_work("driver", 10, 60_000, now_ms=now_ms()) == []  # the queued event was consumed too
