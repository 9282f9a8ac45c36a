"""Wake-ups: commits notify waiters promptly, without sleep-polling."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from tests.store.helpers import make_flow, start, step
from tests.stores import OpenUrl
from tidegate.store import JOBS, WORK, JobWrite, LocalNotifier, Store, execution_channel


def _wake_latency(store: Store, channel: str, action: Callable[[], object], waiter: Store | None = None) -> float:
    """Start a waiter on ``channel``, run ``action`` and return seconds from the action's start to wake-up."""
    notifier = (waiter or store).notifier
    since = notifier.seq()
    woke: list[float] = []
    ready = threading.Event()

    def wait() -> None:
        ready.set()
        if notifier.wait(channel, 5.0, since=since):
            woke.append(time.monotonic())

    t = threading.Thread(target=wait)
    t.start()
    ready.wait()
    t0 = time.monotonic()
    action()
    t.join()
    assert woke, f"no wake-up on {channel}"
    return woke[0] - t0


def test_commit_wakes_waiters_within_100ms(store: Store) -> None:
    make_flow(store)
    assert _wake_latency(store, WORK, lambda: start(store, "e1")) < 0.1
    e = store.get_execution("flow1", "e1")
    assert _wake_latency(store, JOBS, lambda: store.commit([step(e, jobs=[JobWrite(kind="fn", payload={})])])) < 0.1
    e = store.get_execution_by_id(e.id)
    done = step(e, status="Succeeded", output="{}", stopped_ms=1)
    assert _wake_latency(store, execution_channel(e.id), lambda: store.commit([done])) < 0.1


def test_complete_task_and_append_inbox_notify_work(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, tasks_open=["k"])])
    assert _wake_latency(store, WORK, lambda: store.complete_task(e.id, "k", {})) < 0.1
    assert _wake_latency(store, WORK, lambda: store.append_inbox(e.id, {})) < 0.1


def test_wait_times_out_without_notification(store: Store) -> None:
    since = store.notifier.seq()
    store.notifier.notify("other")
    t0 = time.monotonic()
    assert not store.notifier.wait(WORK, 0.05, since=since)
    assert time.monotonic() - t0 >= 0.045


def test_a_notification_before_wait_is_not_lost(store: Store) -> None:
    since = store.notifier.seq()
    store.notifier.notify(WORK)
    # For PostgreSQL the notification makes a round trip through the server, so wait for it to arrive.
    assert store.notifier.wait(WORK, 2.0, since=since)
    assert store.notifier.wait(WORK, 0.0, since=since)  # already seen: returns at once


def test_other_store_instances_are_woken_on_postgres(store: Store, open_url: OpenUrl) -> None:
    if isinstance(store.notifier, LocalNotifier):
        return  # SQLite notifications are per store instance by design (documented in docs/store.md)
    other = open_url()
    make_flow(store)
    assert _wake_latency(store, WORK, lambda: start(store, "e1"), waiter=other) < 0.1


def test_local_notifier_evicts_old_channels_conservatively() -> None:
    n = LocalNotifier(capacity=2)
    since = n.seq()
    n.notify("exec:1")
    n.notify("exec:2")
    n.notify("exec:3")  # evicts exec:1
    assert n.wait("exec:1", 0.0, since=since)  # reported (conservatively) rather than lost
    later = n.seq()
    assert not n.wait("exec:1", 0.0, since=later)
    n.wake_all()
    assert n.wait("anything", 0.0, since=later)


def test_postgres_listener_survives_a_dropped_connection(store: Store) -> None:
    if isinstance(store.notifier, LocalNotifier):
        return
    import psycopg

    from tests.stores import PG_URL

    channel = store.db.channel  # type: ignore[attr-defined]
    since = store.notifier.seq()
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = %s",
            (f'LISTEN "{channel}"',),
        ).fetchall()
    assert killed == [(True,)]
    # Reconnecting wakes every waiter once (a notification may have been lost meanwhile) ...
    assert store.notifier.wait(WORK, 5.0, since=since)
    # ... and later commits wake waiters again through the new connection.
    make_flow(store)
    assert _wake_latency(store, WORK, lambda: start(store, "e1")) < 0.1


def test_a_channel_wakes_only_its_own_waiters_and_forgets_them() -> None:
    notifier = LocalNotifier()
    since = notifier.seq()
    results: dict[str, bool] = {}
    waiting = threading.Barrier(3)

    def wait(channel: str, timeout_s: float) -> None:
        waiting.wait()
        results[channel] = notifier.wait(channel, timeout_s, since=since)

    threads = [threading.Thread(target=wait, args=("a", 5.0)), threading.Thread(target=wait, args=("b", 0.3))]
    for t in threads:
        t.start()
    waiting.wait()
    deadline = time.monotonic() + 5
    while (notifier.waiters("a"), notifier.waiters("b")) != (1, 1) and time.monotonic() < deadline:
        time.sleep(0.001)  # polling a condition (both parked on their own condition) within a deadline
    assert (notifier.waiters("a"), notifier.waiters("b"), notifier.waiters("c")) == (1, 1, 0)
    notifier.notify("a")
    for t in threads:
        t.join()
    assert results == {"a": True, "b": False}
    assert notifier._waiting == {}  # a channel nobody waits on keeps no condition
