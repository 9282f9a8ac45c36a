"""Wake-ups: commits notify waiters, who return at once rather than at their timeout (no sleep-polling)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

from tests.store.helpers import make_flow, start, step
from tests.stores import OpenUrl
from tests.waiting import wait_until
from tidegate.store import JOBS, WORK, JobWrite, LocalNotifier, Notifier, Store, execution_channel

#: A waiter's timeout, far above how long a wake-up takes even on a loaded machine ...
WAIT_S = 30.0
#: ... and the bound a woken waiter returns within: far below the timeout, so it was woken by the
#: notification, not by the timeout.
WOKEN_WITHIN_S = 10.0


def _settled(sender: Store, notifier: Notifier) -> int:
    """A ``since`` token taken once every notification sent so far has reached ``notifier``.

    PostgreSQL delivers notifications asynchronously but in order: once a marker sent now has arrived, so
    has every earlier one, and none of them can wake the waiter in place of the action under test.
    """
    marker = f"settle-{uuid.uuid4().hex}"
    since = notifier.seq()
    sender.notifier.notify(marker)
    assert notifier.wait(marker, WAIT_S, since=since), "the marker notification never arrived"
    return notifier.seq()


def assert_wakes(store: Store, channel: str, action: Callable[[], object], waiter: Store | None = None) -> None:
    """A waiter parked on ``channel`` (with a 30 s timeout) is woken by ``action``, well before its timeout."""
    notifier = (waiter or store).notifier
    since = _settled(store, notifier)
    woke: list[bool] = []

    def wait() -> None:
        woke.append(notifier.wait(channel, WAIT_S, since=since))

    t = threading.Thread(target=wait)
    t.start()
    # The waiter is parked (the case under test), not still starting, when the action commits.
    wait_until(lambda: notifier.waiters(channel) == 1, message=f"a waiter parked on {channel}")
    started = time.monotonic()
    action()
    t.join(WAIT_S + 5)
    assert woke == [True], f"no wake-up on {channel}"  # False: the wait timed out
    assert time.monotonic() - started < WOKEN_WITHIN_S


def test_commit_wakes_waiters(store: Store) -> None:
    make_flow(store)
    assert_wakes(store, WORK, lambda: start(store, "e1"))
    e = store.get_execution("flow1", "e1")
    assert_wakes(store, JOBS, lambda: store.commit([step(e, jobs=[JobWrite(kind="fn", payload={})])]))
    e = store.get_execution_by_id(e.id)
    done = step(e, status="Succeeded", output="{}", stopped_ms=1)
    assert_wakes(store, execution_channel(e.id), lambda: store.commit([done]))


def test_complete_task_and_append_inbox_notify_work(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.commit([step(e, tasks_open=["k"])])
    assert_wakes(store, WORK, lambda: store.complete_task(e.id, "k", {}))
    assert_wakes(store, WORK, lambda: store.append_inbox(e.id, {}))


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
    e = start(store, "e1")
    done = step(e, status="Succeeded", output="{}", stopped_ms=1)
    # An execution's end reaches every server; the work channels stay in the committing one (test_pg_wakeups).
    assert_wakes(store, execution_channel(e.id), lambda: store.commit([done]), waiter=other)


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

    channel = store.database.channel  # type: ignore[attr-defined]
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
    assert_wakes(store, WORK, lambda: start(store, "e1"))


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
    wait_until(lambda: (notifier.waiters("a"), notifier.waiters("b")) == (1, 1), message="both parked")
    assert (notifier.waiters("a"), notifier.waiters("b"), notifier.waiters("c")) == (1, 1, 0)
    notifier.notify("a")
    for t in threads:
        t.join()
    assert results == {"a": True, "b": False}
    assert notifier._waiting == {}  # a channel nobody waits on keeps no condition
