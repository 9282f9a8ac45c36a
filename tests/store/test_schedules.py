"""Schedules: CRUD and firing once per due time."""

from __future__ import annotations

import threading

import pytest

from tests.store.helpers import make_flow, start
from tests.stores import OpenUrl
from tidegate.store import (
    FlowNotFound,
    ScheduleAlreadyExists,
    ScheduleNotFound,
    ScheduleRecord,
    Store,
)


def _schedule(name: str = "s1", next_fire_ms: int | None = 1000, enable: bool = True) -> ScheduleRecord:
    return ScheduleRecord(
        flow_name="flow1",
        name=name,
        id=f"id-{name}",
        cron="@every 1m",
        payload='{"a":1}',
        enable=enable,
        created_ms=1,
        modified_ms=1,
        next_fire_ms=next_fire_ms,
    )


def _every_second(_: ScheduleRecord, now_ms: int) -> int:
    return (now_ms // 1000 + 1) * 1000


def test_schedule_crud(store: Store) -> None:
    with pytest.raises(FlowNotFound):
        store.create_schedule(_schedule())
    make_flow(store)
    created = store.create_schedule(_schedule())
    assert store.get_schedule("flow1", "s1") == created and created.enable is True
    with pytest.raises(ScheduleAlreadyExists):
        store.create_schedule(_schedule())
    updated = store.update_schedule("flow1", "s1", modified_ms=5, enable=False, cron="0 0 4 * * *")
    assert (updated.enable, updated.cron, updated.payload, updated.next_fire_ms) == (
        False,
        "0 0 4 * * *",
        '{"a":1}',
        1000,
    )
    cleared = store.update_schedule("flow1", "s1", modified_ms=6, next_fire_ms=None)
    assert cleared.next_fire_ms is None and cleared.enable is False
    with pytest.raises(ScheduleNotFound):
        store.update_schedule("flow1", "zz", modified_ms=1, enable=True)
    for i in range(5):
        store.create_schedule(_schedule(f"t{i}"))
    page = store.list_schedules("flow1", limit=4)
    rest = store.list_schedules("flow1", limit=4, next_token=page.next_token)
    assert [s.name for s in page.items + rest.items] == ["s1", "t0", "t1", "t2", "t3", "t4"]
    assert rest.next_token is None
    store.delete_schedule("flow1", "s1")
    with pytest.raises(ScheduleNotFound):
        store.delete_schedule("flow1", "s1")


def test_disabled_or_finished_schedules_do_not_fire(store: Store) -> None:
    make_flow(store)
    store.create_schedule(_schedule("off", enable=False))
    store.create_schedule(_schedule("done", next_fire_ms=None))
    store.create_schedule(_schedule("later", next_fire_ms=5000))
    assert store.claim_due_schedules(2000, _every_second) == []


def test_each_due_time_fires_once_with_two_claimers(store: Store, open_url: OpenUrl) -> None:
    make_flow(store)
    store.create_schedule(_schedule("a", next_fire_ms=1000))
    store.create_schedule(_schedule("b", next_fire_ms=1000))
    stores = [store, open_url()]
    fired: list[tuple[str, int]] = []
    lock = threading.Lock()
    for now in (1500, 2500, 2600, 3500):
        barrier = threading.Barrier(4)

        def claim(i: int, now: int = now, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            got = stores[i % 2].claim_due_schedules(now, _every_second)
            with lock:
                fired.extend((s.name, due) for s, due in got)

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(fired) == [("a", 1000), ("a", 2000), ("a", 3000), ("b", 1000), ("b", 2000), ("b", 3000)]
    assert store.get_schedule("flow1", "a").next_fire_ms == 4000


def test_missed_ticks_collapse_into_one_firing(store: Store) -> None:
    make_flow(store)
    store.create_schedule(_schedule("a", next_fire_ms=1000))
    assert [(s.name, due) for s, due in store.claim_due_schedules(10_500, _every_second)] == [("a", 1000)]
    assert store.claim_due_schedules(10_900, _every_second) == []
    assert store.get_schedule("flow1", "a").next_fire_ms == 11_000


def _name(s: ScheduleRecord, due: int) -> str:
    return f"{s.name}-{due}"


def test_fire_due_schedules_creates_each_ticks_execution_once(store: Store, open_url: OpenUrl) -> None:
    make_flow(store)
    store.create_schedule(_schedule("a", next_fire_ms=1000))
    stores = [store, open_url()]
    started: list[str] = []
    lock = threading.Lock()
    for now in (1500, 2500):
        barrier = threading.Barrier(4)

        def fire(i: int, now: int = now, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            got = stores[i % 2].fire_due_schedules(now, _every_second, _name, {"type": "Start"})
            with lock:
                started.extend(r.name for r in got)

        threads = [threading.Thread(target=fire, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(started) == ["a-1000", "a-2000"]
    first = store.get_execution("flow1", "a-1000")
    assert first.status == "Running" and first.input == '{"a":1}'  # the payload is the input
    work = store.claim_work("w", 10, 1000, now_ms=10**13)
    assert sorted(item.event["type"] for w in work for item in w.inbox) == ["Start", "Start"]


def test_fire_due_schedules_skips_a_tick_whose_execution_exists(store: Store) -> None:
    make_flow(store)
    store.create_schedule(_schedule("a", next_fire_ms=1000))
    start(store, "a-1000")  # e.g. fired by a process that crashed before anything else
    assert store.fire_due_schedules(1500, _every_second, _name, {"type": "Start"}) == []
    assert store.get_schedule("flow1", "a").next_fire_ms == 2000
