"""Inbox, leases and the batch commit."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from tests.store.helpers import events, make_flow, start, step
from tests.stores import OpenUrl
from tidegate.store import (
    Delivery,
    HistoryGap,
    JobWrite,
    Store,
    TaskCompletion,
    TimerWrite,
    VersionConflict,
)


def test_inbox_items_come_in_insertion_order_and_respect_availability(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1", started_ms=0)
    assert store.append_inbox(e.id, {"n": 1}, available_ms=5)
    assert store.append_inbox(e.id, {"n": 2}, available_ms=5)
    assert store.append_inbox(e.id, {"n": 3}, available_ms=500)
    work = store.claim_work("w", 10, 1000, now_ms=10)
    assert [i.event for i in work[0].inbox] == [{"type": "Start", "name": "e1"}, {"n": 1}, {"n": 2}]
    assert store.next_timer_ms() == 1010  # the leased execution's delayed item: claimable at lease expiry


def test_lease_excludes_other_owners_until_it_expires(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1", started_ms=0)
    assert [w.execution.id for w in store.claim_work("a", 10, lease_ms=1000, now_ms=100)] == [e.id]
    assert store.claim_work("b", 10, lease_ms=1000, now_ms=500) == []
    work = store.claim_work("b", 10, lease_ms=1000, now_ms=1100)  # a crashed: its lease ran out
    assert work[0].execution.lease_owner == "b" and work[0].execution.lease_until_ms == 2100
    store.release([e.id], "a")  # a stale owner cannot release b's lease
    assert store.claim_work("c", 10, lease_ms=1000, now_ms=1200) == []
    store.release([e.id], "b")
    assert [w.execution.id for w in store.claim_work("c", 10, lease_ms=1000, now_ms=1200)] == [e.id]


def test_concurrent_claimers_never_share_an_execution(store: Store, open_url: OpenUrl) -> None:
    make_flow(store)
    ids = {start(store, f"e{i}", started_ms=0).id for i in range(40)}
    stores = [store, open_url()]
    claimed: Counter[int] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(6)

    def claim(owner: str, s: Store) -> None:
        barrier.wait()
        while True:
            got = s.claim_work(owner, 3, lease_ms=60_000, now_ms=10)
            if not got:
                return
            with lock:
                claimed.update(w.execution.id for w in got)

    threads = [threading.Thread(target=claim, args=(f"o{i}", stores[i % 2])) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(claimed) == ids and max(claimed.values()) == 1


def test_commit_writes_everything_and_releases_the_lease(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1", started_ms=0)
    item = store.claim_work("w", 10, 60_000, now_ms=10)[0].inbox[0]
    store.commit(
        [
            step(
                e,
                n_events=3,
                consumed_inbox=[item.id],
                timers_add=[TimerWrite(key="t1", fire_at_ms=50, event={"type": "TimerFired"})],
                tasks_open=["task1"],
                jobs=[JobWrite(kind="fn", payload={"arn": "x"}, task_key="task1")],
            )
        ]
    )
    after = store.get_execution_by_id(e.id)
    assert (after.version, after.state, after.event_count, after.lease_owner) == (1, {"v": 1}, 3, None)
    assert [h.event_id for h in store.get_history(e.id)] == [1, 2, 3]
    assert store.get_history(e.id)[0].detail == '{"input":{"i":1}}'
    assert store.get_task(e.id, "task1") is not None
    assert [j.payload for j in store.claim_jobs("w", ["fn"], 10, 1000, now_ms=10)] == [{"arn": "x"}]
    assert store.next_timer_ms() == 50
    assert store.claim_work("w", 10, 60_000, now_ms=20) == []  # the start event was consumed


def test_version_conflict_writes_nothing_of_the_batch(store: Store) -> None:
    make_flow(store)
    a, b = start(store, "a"), start(store, "b")
    good = step(
        a,
        n_events=2,
        timers_add=[TimerWrite(key="t", fire_at_ms=5, event={})],
        tasks_open=["k"],
        jobs=[JobWrite(kind="fn", payload={})],
    )
    stale = step(b, expected_version=7)
    with pytest.raises(VersionConflict) as err:
        store.commit([good, stale])
    assert err.value.execution_id == b.id and err.value.code == "Conflict"
    assert store.get_execution_by_id(a.id).version == 0
    assert store.get_history(a.id) == []
    assert store.next_timer_ms() is not None and store.move_due_timers(now_ms=10**13) == 0
    assert store.get_task(a.id, "k") is None
    assert store.claim_jobs("w", ["fn"], 10, 1000, now_ms=10**13) == []
    store.commit([good])  # one by one, the good transition still applies
    assert store.get_execution_by_id(a.id).version == 1


class _EffectFailed(RuntimeError):
    """What the failing effect raises (any error, not a store one)."""


def _failing_effect(tx: object) -> None:
    raise _EffectFailed("the effect cannot be written")


@pytest.mark.parametrize("failure", ["history gap", "raising effect"])
def test_any_error_writes_nothing_of_the_batch_and_the_others_commit_one_by_one(store: Store, failure: str) -> None:
    # The store's side of the driver's fallback: a batch is all or nothing whatever the error (not only a
    # version conflict), so committing its writes one by one afterwards writes each good one exactly once.
    make_flow(store)
    a, b, c = start(store, "a"), start(store, "b"), start(store, "c")
    good = [step(a, n_events=2, tasks_open=["k"]), step(c, jobs=[JobWrite(kind="fn", payload={})])]
    bad = step(b, events=events(5, 1)) if failure == "history gap" else step(b, effects=[_failing_effect])
    with pytest.raises(HistoryGap if failure == "history gap" else _EffectFailed):
        store.commit([good[0], bad, good[1]])
    assert [store.get_execution_by_id(x.id).version for x in (a, b, c)] == [0, 0, 0]
    assert [store.get_history(x.id) for x in (a, b, c)] == [[], [], []]
    assert store.get_task(a.id, "k") is None
    assert store.claim_jobs("w", ["fn"], 10, 1000, now_ms=10**13) == []
    for write in (good[0], bad, good[1]):
        try:
            store.commit([write])
        except (HistoryGap, _EffectFailed):
            assert write is bad
    assert [store.get_execution_by_id(x.id).version for x in (a, b, c)] == [1, 0, 1]
    assert [len(store.get_history(x.id)) for x in (a, b, c)] == [2, 0, 1]
    assert store.get_task(a.id, "k") is not None
    assert len(store.claim_jobs("w", ["fn"], 10, 1000, now_ms=10**13)) == 1


def test_event_ids_must_continue_densely(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, n_events=2)])
    e = store.get_execution_by_id(e.id)
    with pytest.raises(HistoryGap):
        store.commit([step(e, events=events(4, 1))])  # skips id 3
    with pytest.raises(HistoryGap):
        store.commit([step(e, events=events(2, 1))])  # repeats id 2
    assert store.get_execution_by_id(e.id).version == 1
    store.commit([step(e, n_events=1)])
    assert [h.event_id for h in store.get_history(e.id)] == [1, 2, 3]


def test_two_transitions_of_one_execution_in_one_batch(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    first = step(e, n_events=2)
    second = step(e, expected_version=1, events=events(3, 2))
    store.commit([first, second])
    assert store.get_execution_by_id(e.id).version == 2
    assert [h.event_id for h in store.get_history(e.id)] == [1, 2, 3, 4]


def test_terminal_commit_closes_tasks_timers_and_inbox(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1", started_ms=0)
    store.commit([step(e, tasks_open=["k"], timers_add=[TimerWrite(key="t", fire_at_ms=5, event={})])])
    e = store.get_execution_by_id(e.id)
    store.commit([step(e, status="Succeeded", output='{"ok":true}', stopped_ms=30)])
    ended = store.get_execution_by_id(e.id)
    assert (ended.status, ended.output, ended.stopped_ms) == ("Succeeded", '{"ok":true}', 30)
    task = store.get_task(e.id, "k")
    assert task is not None and task.status == "cancelled"
    assert not store.complete_task(e.id, "k", {"late": True})
    assert not store.append_inbox(e.id, {"late": True})
    assert store.move_due_timers(now_ms=100) == 0
    assert store.claim_work("w", 10, 1000, now_ms=100) == []


def test_deliveries_and_task_completions_reach_other_executions(store: Store) -> None:
    make_flow(store)
    parent, child, ended = start(store, "parent"), start(store, "child"), start(store, "ended")
    store.commit([step(parent, tasks_open=["sub"]), step(ended, status="Failed", error="E", stopped_ms=1)])
    store.claim_work("w", 10, 1, now_ms=0)
    store.commit(
        [
            step(
                child,
                status="Succeeded",
                output="{}",
                stopped_ms=5,
                task_completions=[TaskCompletion(execution_id=parent.id, task_key="sub", event={"child": "done"})],
                deliveries=[
                    Delivery(execution_id=parent.id, event={"note": 1}),
                    Delivery(execution_id=ended.id, event={"dropped": True}),
                ],
            )
        ]
    )
    work = {w.execution.id: w for w in store.claim_work("w", 10, 1000, now_ms=10**13)}
    assert set(work) == {parent.id}
    # Deliveries are written before task completions, in the order the transition lists them.
    assert [i.event for i in work[parent.id].inbox][1:] == [{"note": 1}, {"child": "done"}]
    task = store.get_task(parent.id, "sub")
    assert task is not None and task.status == "done"


def test_history_paging(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, n_events=25)])
    page1 = store.get_history(e.id, after_event_id=0, limit=10)
    page3 = store.get_history(e.id, after_event_id=20, limit=10)
    assert [h.event_id for h in page1] == list(range(1, 11))
    assert [h.event_id for h in page3] == list(range(21, 26))
    assert store.get_history(e.id, after_event_id=25) == []
    assert page1[0].type == "StepEntered" and page1[0].step_name == "s1" and page1[0].schedule_event_id == 0
