"""Targeted wake-ups on PostgreSQL: the work channels wake the committing server only.

Several servers share one PostgreSQL store. Queued events and jobs (channels ``work`` and ``jobs``) are done by
the server that committed them, so they must not wake the others (an idle server costs nothing per
execution); an execution's end and a queue's messages reach every server, where only their waiters wake.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.store.helpers import make_flow, start, step
from tests.stores import PG_URL, pg_schema
from tidegate.store import JOBS, WORK, JobWrite, Notifier, Store, execution_channel, open_store

pytestmark = pytest.mark.postgres
WAIT_S = 30.0


@pytest.fixture
def two_servers() -> Iterator[tuple[Store, Store]]:
    """Two stores on one schema, as two servers would open it."""
    with pg_schema("wake") as schema:
        a = open_store(f"{PG_URL}?schema={schema}")
        b = open_store(f"{PG_URL}?schema={schema}")
        try:
            yield a, b
        finally:
            a.close()
            b.close()


def _settle(sender: Store, notifier: Notifier) -> None:
    """Return once every notification ``sender`` sent so far has reached ``notifier`` (delivery is in order)."""
    marker = f"settle-{uuid.uuid4().hex}"
    since = notifier.seq()
    sender.notifier.notify(marker)
    assert notifier.wait(marker, WAIT_S, since=since), "the marker notification never arrived"


def test_work_and_jobs_wake_the_committing_server_only(two_servers: tuple[Store, Store]) -> None:
    a, b = two_servers
    make_flow(a)
    _settle(a, b.notifier)
    here, there = a.notifier.seq(), b.notifier.seq()
    e = start(a, "e1")  # queues the start event: work
    a.commit([step(e, jobs=[JobWrite(kind="fn", payload={})])])  # a job
    # Notified in the committing process as the write returns (no round trip through the server) ...
    assert a.notifier.wait(WORK, 0.0, since=here)
    assert a.notifier.wait(JOBS, 0.0, since=here)
    # ... and never in the other one: a marker sent after the commits has arrived, so they would have too.
    _settle(a, b.notifier)
    assert not b.notifier.wait(WORK, 0.0, since=there)
    assert not b.notifier.wait(JOBS, 0.0, since=there)
    # The other server finds the work in the store (what its bounded wait does): nothing is hidden from it.
    assert [w.execution.name for w in b.claim_work("b", 10, 5_000, now_ms=10**13)] == ["e1"]


def test_an_execution_end_wakes_the_waiters_of_every_server(two_servers: tuple[Store, Store]) -> None:
    a, b = two_servers
    make_flow(a)
    e = start(a, "e1")
    _settle(a, b.notifier)
    there = b.notifier.seq()
    a.commit([step(e, status="Succeeded", output="{}", stopped_ms=1)])
    assert b.notifier.wait(execution_channel(e.id), WAIT_S, since=there)


def test_a_work_notification_outside_a_transaction_stays_here(two_servers: tuple[Store, Store]) -> None:
    a, b = two_servers
    _settle(a, b.notifier)
    here, there = a.notifier.seq(), b.notifier.seq()
    a.notifier.notify(WORK)  # what a stopping runtime does to wake its own driver
    assert a.notifier.wait(WORK, 0.0, since=here)
    _settle(a, b.notifier)
    assert not b.notifier.wait(WORK, 0.0, since=there)
