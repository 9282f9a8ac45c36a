"""Timers, task tokens and jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from tests.store.helpers import make_flow, start, step
from tests.stores import OpenUrl
from tidegate.store import JobWrite, Store, TimerWrite

T = TypeVar("T")


def _race(n: int, fn: Callable[[int], T]) -> list[T]:
    """Run ``fn(i)`` on ``n`` threads released together; return the results."""
    results: dict[int, T] = {}
    barrier = threading.Barrier(n)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results[i] for i in range(n)]


def test_due_timers_move_once_into_the_inbox(store: Store, open_url: OpenUrl) -> None:
    make_flow(store)
    ids = []
    for i in range(10):
        e = start(store, f"e{i}", started_ms=0)
        store.claim_work("w", 100, 1, now_ms=0)
        store.commit(
            [
                step(
                    e,
                    consumed_inbox=[],
                    timers_add=[TimerWrite(key="t", fire_at_ms=100 + i, event={"fired": i})],
                )
            ]
        )
        ids.append(e.id)
    late = start(store, "late", started_ms=0)
    store.commit([step(late, timers_add=[TimerWrite(key="t", fire_at_ms=10_000, event={})])])
    assert store.next_timer_ms() == 0  # start events of the executions are claimable now
    other = open_url()
    moved = _race(4, lambda i: (store if i % 2 else other).move_due_timers(now_ms=200, limit=3 + i))
    assert sum(moved) == 10
    assert store.move_due_timers(now_ms=200) == 0
    fired = [ev.event for w in store.claim_work("w", 100, 1000, now_ms=200) for ev in w.inbox if "fired" in ev.event]
    assert sorted(f["fired"] for f in fired) == list(range(10))


def test_timer_rearm_and_cancel(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1", started_ms=0)
    store.claim_work("w", 10, 10**12, now_ms=0)  # hold the lease: only timers count for next_timer_ms
    store.commit([step(e, timers_add=[TimerWrite(key="a", fire_at_ms=500, event={"k": "a"})])])
    e = store.get_execution_by_id(e.id)
    store.commit([step(e, timers_add=[TimerWrite(key="a", fire_at_ms=300, event={"k": "a2"})])])
    e = store.get_execution_by_id(e.id)
    assert store.next_timer_ms() == 0  # the start event is still pending and the execution unleased
    store.claim_work("w", 10, 10**12, now_ms=0)
    assert store.next_timer_ms() == 300
    store.commit([step(e, timers_cancel=["a"])])
    assert store.move_due_timers(now_ms=10_000) == 0


def test_complete_task_exactly_once_under_a_race(store: Store, open_url: OpenUrl) -> None:
    make_flow(store)
    e = start(store, "e1", started_ms=0)
    item = store.claim_work("w", 10, 1000, now_ms=0)[0].inbox[0]
    store.commit([step(e, consumed_inbox=[item.id], tasks_open=["tok"])])
    other = open_url()
    results = _race(8, lambda i: (store if i % 2 else other).complete_task(e.id, "tok", {"by": i}))
    assert results.count(True) == 1 and results.count(False) == 7
    work = store.claim_work("w", 10, 1000, now_ms=10**13)
    winner = results.index(True)
    assert [i.event for i in work[0].inbox] == [{"by": winner}]
    task = store.get_task(e.id, "tok")
    assert task is not None and task.status == "done" and task.closed_ms is not None


def test_closed_tasks_never_reopen(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, tasks_open=["a", "b"])])
    e = store.get_execution_by_id(e.id)
    store.commit([step(e, tasks_cancel=["a"])])
    assert store.complete_task(e.id, "b", {"ok": 1})
    e = store.get_execution_by_id(e.id)
    store.commit([step(e, tasks_open=["a", "b"])])  # reopening is ignored
    assert not store.complete_task(e.id, "a", {})
    assert not store.complete_task(e.id, "b", {})
    assert not store.complete_task(e.id, "unknown", {})
    assert store.get_task(e.id, "unknown") is None
    a = store.get_task(e.id, "a")
    assert a is not None and a.status == "cancelled"


def test_jobs_lease_expiry_and_attempts(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit(
        [
            step(
                e,
                jobs=[
                    JobWrite(kind="fn", payload={"n": 1}, available_ms=100),
                    JobWrite(kind="fn", payload={"n": 2}, available_ms=200),
                    JobWrite(kind="child", payload={"n": 3}, available_ms=100),
                ],
            )
        ]
    )
    assert store.next_job_ms(["fn"]) == 100
    assert store.claim_jobs("a", ["fn"], 10, 1000, now_ms=50) == []
    first = store.claim_jobs("a", ["fn"], 10, lease_ms=1000, now_ms=150)
    assert [(j.payload, j.attempts, j.execution_id) for j in first] == [({"n": 1}, 1, e.id)]
    assert [j.payload for j in store.claim_jobs("b", ["fn"], 10, 1000, now_ms=500)] == [{"n": 2}]
    assert store.claim_jobs("c", ["fn"], 10, 1000, now_ms=900) == []  # both leased now
    again = store.claim_jobs("c", ["fn"], 10, lease_ms=1000, now_ms=1150)  # a's lease expired
    assert [(j.payload, j.attempts, j.lease_owner) for j in again] == [({"n": 1}, 2, "c")]
    assert [j.kind for j in store.claim_jobs("d", ["child", "other"], 10, 1000, now_ms=150)] == ["child"]


def test_renew_jobs_extends_only_the_owners_live_leases(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, jobs=[JobWrite(kind="fn", payload={"n": i}, available_ms=0) for i in range(3)])])
    mine = store.claim_jobs("a", ["fn"], 2, lease_ms=1000, now_ms=100)  # a holds two until 1100
    theirs = store.claim_jobs("b", ["fn"], 1, lease_ms=1000, now_ms=100)  # b holds one until 1100
    assert len(mine) == 2 and len(theirs) == 1
    assert store.renew_jobs("a", lease_ms=1000, now_ms=900) == 2  # a renews to 1900
    taken = store.claim_jobs("c", ["fn"], 10, 1000, now_ms=1500)  # b did not renew: its job is free again
    assert [j.payload for j in taken] == [theirs[0].payload]
    assert store.claim_jobs("d", ["fn"], 10, 1000, now_ms=1600) == []  # a's are still leased
    assert store.renew_jobs("a", lease_ms=1000, now_ms=2000) == 0  # expired leases are not revived
    again = store.claim_jobs("d", ["fn"], 10, 1000, now_ms=2000)
    assert {j.payload["n"] for j in again} == {j.payload["n"] for j in mine}


def test_claim_jobs_concurrently_gives_each_job_once(store: Store, open_url: OpenUrl) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, jobs=[JobWrite(kind="fn", payload={"n": i}) for i in range(30)])])
    other = open_url()
    got = _race(6, lambda i: (store if i % 2 else other).claim_jobs(f"o{i}", ["fn"], 7, 60_000, now_ms=10))
    ids = [j.id for batch in got for j in batch]
    assert len(ids) == len(set(ids)) == 30


def test_finish_job_completes_its_open_task(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1", started_ms=0)
    item = store.claim_work("w", 10, 1000, now_ms=0)[0].inbox[0]
    store.commit(
        [
            step(
                e,
                consumed_inbox=[item.id],
                tasks_open=["t1", "t2"],
                jobs=[
                    JobWrite(kind="fn", payload={}, task_key="t1"),
                    JobWrite(kind="fn", payload={}, task_key="t2"),
                ],
            )
        ]
    )
    j1, j2 = store.claim_jobs("w", ["fn"], 10, 1000, now_ms=10)
    assert store.finish_job(j1.id, {"result": 1})
    assert not store.finish_job(j1.id, {"result": "again"})  # already finished
    assert store.complete_task(e.id, "t2", {"callback": True})  # the task was completed another way
    assert not store.finish_job(j2.id, {"result": 2})
    assert store.claim_jobs("w", ["fn"], 10, 1000, now_ms=10**13) == []
    inbox = store.claim_work("w", 10, 1000, now_ms=10**13)[0].inbox
    assert [i.event for i in inbox] == [{"result": 1}, {"callback": True}]


def test_retry_job(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, jobs=[JobWrite(kind="fn", payload={})])])
    (job,) = store.claim_jobs("w", ["fn"], 10, 60_000, now_ms=10)
    store.retry_job(job.id, available_ms=500, error="boom")
    assert store.next_job_ms(["fn"]) == 500
    assert store.claim_jobs("w", ["fn"], 10, 60_000, now_ms=400) == []
    (again,) = store.claim_jobs("w", ["fn"], 10, 60_000, now_ms=500)
    assert (again.id, again.attempts, again.last_error) == (job.id, 2, "boom")
    assert store.next_job_ms(["other"]) is None
