"""Queue semantics (docs/protocols.md, docs/mq.md) on every store backend."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from tests.mq.helpers import FakeClock
from tests.waiting import wait_until
from tidegate.mq import queues
from tidegate.mq.errors import (
    InvalidQueueArgument,
    InvalidQueueName,
    MessageNotExist,
    QueueAlreadyExist,
    QueueNotExist,
    ReceiptHandleError,
)
from tidegate.mq.queues import QueueService
from tidegate.mq.wire_render import EntryError, SendResult
from tidegate.mq.wire_requests import MessageRequest, QueueAttributes
from tidegate.store import Store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def qs(store: Store, clock: FakeClock) -> QueueService:
    return QueueService(store.database, clock=clock)


def _send(
    qs: QueueService, queue: str, body: str, priority: int | None = None, delay_seconds: int | None = None
) -> str:
    (r,) = qs.send(queue, [MessageRequest(body=body, priority=priority, delay_seconds=delay_seconds)])
    assert isinstance(r, SendResult)
    return r.message_id


def test_create_defaults_recreate_and_conflict(qs: QueueService) -> None:
    assert qs.create_queue("q1", QueueAttributes()) is True
    info = qs.get_queue("q1")
    assert (info.visibility_timeout, info.maximum_message_size, info.message_retention_period) == (30, 65536, 345600)
    assert (info.delay_seconds, info.polling_wait_seconds, info.logging_enabled) == (0, 0, False)
    assert qs.create_queue("q1", QueueAttributes(visibility_timeout=30)) is False
    with pytest.raises(QueueAlreadyExist):
        qs.create_queue("q1", QueueAttributes(visibility_timeout=31))
    qs.set_queue_attributes("q1", QueueAttributes(delay_seconds=5, logging_enabled=True))
    info = qs.get_queue("q1")
    assert (info.delay_seconds, info.logging_enabled, info.visibility_timeout) == (5, True, 30)
    qs.delete_queue("q1")
    with pytest.raises(QueueNotExist):
        qs.get_queue("q1")
    with pytest.raises(QueueNotExist):
        qs.send("q1", [MessageRequest(body="x")])
    with pytest.raises(QueueNotExist):
        qs.set_queue_attributes("q1", QueueAttributes(delay_seconds=1))


def test_names_are_validated(qs: QueueService) -> None:
    for bad in ("-a", "a_b", "", "a b", "ä"):
        with pytest.raises(InvalidQueueName):
            qs.create_queue(bad, QueueAttributes())


def test_list_with_prefix_and_marker(qs: QueueService) -> None:
    for n in ("a1", "a2", "a3", "b1"):
        qs.create_queue(n, QueueAttributes())
    page, marker = qs.list_queues(prefix="a", limit=2)
    assert [q.name for q in page] == ["a1", "a2"] and marker == "a2"
    page, marker = qs.list_queues(prefix="a", limit=2, marker=marker)
    assert [q.name for q in page] == ["a3"] and marker is None
    with pytest.raises(InvalidQueueArgument):
        qs.list_queues(limit=0)


def test_priority_first_then_fifo(qs: QueueService) -> None:
    qs.create_queue("p", QueueAttributes())
    for body, prio in (("low1", 16), ("mid1", 8), ("high1", 1), ("mid2", 8), ("high2", 1), ("low2", 16)):
        _send(qs, "p", body, priority=prio)
    got = [m.body for m in qs.receive("p", 16, wait_s=0)]
    assert got == ["high1", "high2", "mid1", "mid2", "low1", "low2"]


def test_delay_queue_and_message(qs: QueueService, clock: FakeClock) -> None:
    qs.create_queue("d", QueueAttributes(delay_seconds=10))
    _send(qs, "d", "queue-delay")
    _send(qs, "d", "msg-delay", delay_seconds=2)
    _send(qs, "d", "now", delay_seconds=0)
    info = qs.get_queue("d")
    assert (info.active_messages, info.delay_messages) == (1, 2)
    assert [m.body for m in qs.receive("d", 16, wait_s=0)] == ["now"]
    clock.advance(2)
    assert [m.body for m in qs.receive("d", 16, wait_s=0)] == ["msg-delay"]
    with pytest.raises(MessageNotExist):
        qs.receive("d", 1, wait_s=0)
    clock.advance(8)
    assert [m.body for m in qs.receive("d", 16, wait_s=0)] == ["queue-delay"]


def test_visibility_timeout_handles_and_counts(qs: QueueService, clock: FakeClock) -> None:
    qs.create_queue("v", QueueAttributes(visibility_timeout=5))
    _send(qs, "v", "m")
    t0 = clock.ms
    (first,) = qs.receive("v", 1, wait_s=0)
    assert first.dequeue_count == 1 and first.first_dequeue_time == t0
    assert first.next_visible_time == t0 + 5000 and first.receipt_handle
    assert set(first.receipt_handle) <= set("0123456789abcdef-")
    with pytest.raises(MessageNotExist):
        qs.receive("v", 1, wait_s=0)
    assert qs.get_queue("v").inactive_messages == 1
    clock.advance(5)
    (second,) = qs.receive("v", 1, wait_s=0)
    assert second.dequeue_count == 2 and second.first_dequeue_time == t0
    assert second.receipt_handle != first.receipt_handle
    assert second.message_id == first.message_id
    with pytest.raises(ReceiptHandleError):
        qs.delete_message("v", first.receipt_handle)
    assert second.receipt_handle is not None
    qs.delete_message("v", second.receipt_handle)
    with pytest.raises(MessageNotExist):
        qs.delete_message("v", second.receipt_handle)
    with pytest.raises(ReceiptHandleError):
        qs.delete_message("v", "not-a-handle")


def test_handle_expires_at_next_visible_time(qs: QueueService, clock: FakeClock) -> None:
    qs.create_queue("e", QueueAttributes(visibility_timeout=3))
    _send(qs, "e", "m")
    (m,) = qs.receive("e", 1, wait_s=0)
    clock.advance(3)
    assert m.receipt_handle is not None
    with pytest.raises(ReceiptHandleError):
        qs.delete_message("e", m.receipt_handle)


def test_retention_expiry(qs: QueueService, clock: FakeClock) -> None:
    qs.create_queue("r", QueueAttributes(message_retention_period=60))
    _send(qs, "r", "old")
    clock.advance(30)
    _send(qs, "r", "young")
    clock.advance(31)
    assert [m.body for m in qs.peek("r", 16)] == ["young"]
    assert qs.get_queue("r").active_messages == 1
    assert qs.expire() == 1
    clock.advance(30)
    with pytest.raises(MessageNotExist):
        qs.receive("r", 1, wait_s=0)
    assert qs.expire() == 1


def test_batches_and_partial_failures(qs: QueueService) -> None:
    qs.create_queue("b", QueueAttributes(maximum_message_size=1024))
    results = qs.send("b", [MessageRequest(body=f"m{i}") for i in range(15)] + [MessageRequest(body="x" * 1025)])
    assert sum(isinstance(r, SendResult) for r in results) == 15
    assert isinstance(results[15], EntryError) and results[15].code == "InvalidArgument"
    with pytest.raises(InvalidQueueArgument):
        qs.send("b", [MessageRequest(body="m")] * 17)
    peeked = qs.peek("b", 16)
    assert len(peeked) == 15 and all(p.receipt_handle is None and p.dequeue_count == 0 for p in peeked)
    got = qs.receive("b", 16, wait_s=0)
    assert [m.body for m in got] == [f"m{i}" for i in range(15)]
    handles = [m.receipt_handle or "" for m in got]
    errors = qs.delete_messages("b", [*handles[:3], "bad", handles[0]])
    assert [(e.code, e.receipt_handle) for e in errors] == [
        ("ReceiptHandleError", "bad"),
        ("MessageNotExist", handles[0]),
    ]
    assert qs.delete_messages("b", handles[3:]) == []
    assert qs.get_queue("b").inactive_messages == 0


def test_change_visibility(qs: QueueService, clock: FakeClock) -> None:
    qs.create_queue("c", QueueAttributes(visibility_timeout=5))
    _send(qs, "c", "m")
    (m,) = qs.receive("c", 1, wait_s=0)
    assert m.receipt_handle is not None
    handle, nvt = qs.change_visibility("c", m.receipt_handle, 100)
    assert nvt == clock.ms + 100_000 and handle != m.receipt_handle
    with pytest.raises(ReceiptHandleError):
        qs.change_visibility("c", m.receipt_handle, 10)
    clock.advance(50)
    with pytest.raises(MessageNotExist):
        qs.receive("c", 1, wait_s=0)
    handle, _ = qs.change_visibility("c", handle, 0)
    (again,) = qs.receive("c", 1, wait_s=0)
    assert again.dequeue_count == 2
    with pytest.raises(InvalidQueueArgument):
        qs.change_visibility("c", handle, 43201)


def test_send_message_for_the_runtime_and_in_a_caller_transaction(qs: QueueService) -> None:
    qs.create_queue("rt", QueueAttributes())
    mid, md5 = qs.send_message("rt", "hello", priority=2, delay_s=0)
    assert len(md5) == 32 and md5 == md5.upper()
    with pytest.raises(RuntimeError), qs.db.write() as tx:
        qs.send_message_in(tx, "rt", "rolled back")
        raise RuntimeError("abort")
    got = qs.receive("rt", 16, wait_s=0)
    assert [(m.message_id, m.body, m.priority) for m in got] == [(mid, "hello", 2)]
    with pytest.raises(QueueNotExist):
        qs.send_message("nope", "x")


def test_a_send_wakes_a_long_poll_before_its_wait_ends(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    # A parked receiver re-checks the store every RECHECK_S (for sends from other processes on SQLite):
    # with that beyond the wait, only the send's notification can end the wait early.
    monkeypatch.setattr(queues, "RECHECK_S", 60.0)
    qs = QueueService(store.database)
    qs.create_queue("lp", QueueAttributes())
    result: dict[str, float] = {}

    def receiver() -> None:
        (m,) = qs.receive("lp", 1, wait_s=30)
        result["t"] = time.monotonic()
        result["body"] = float(m.body)

    t = threading.Thread(target=receiver)
    t.start()
    # The receiver is parked in its wait (the case under test), not still starting, when the send commits.
    wait_until(lambda: qs.receivers_waiting("lp") == 1, message="the receiver parked on the queue")
    assert "t" not in result
    sent = time.monotonic()
    qs.send_message("lp", "1")
    t.join(40)
    assert not t.is_alive() and result["body"] == 1.0
    # Woken by the send, well before the end of its 30 s wait.
    assert result["t"] - sent < 10


def test_long_poll_times_out(store: Store) -> None:
    qs = QueueService(store.database)
    qs.create_queue("lt", QueueAttributes(polling_wait_seconds=1))
    start = time.monotonic()
    with pytest.raises(MessageNotExist):
        qs.receive("lt", 1)  # the queue's PollingWaitSeconds applies: it waits (the default would not) ...
    assert time.monotonic() - start >= 0.9
    # ... and answers when the wait is over (nothing else can end it: the bound only catches a hang).
    assert time.monotonic() - start < 20


def test_competing_receivers_never_share_a_message(open_url: Callable[[], Store]) -> None:
    services = [QueueService(open_url().database) for _ in range(2)]
    services[0].create_queue("cr", QueueAttributes(visibility_timeout=300))
    total = 200
    for i in range(0, total, 16):
        services[0].send("cr", [MessageRequest(body=str(j)) for j in range(i, min(i + 16, total))])
    seen: list[str] = []
    lock = threading.Lock()

    def worker(svc: QueueService) -> None:
        while True:
            try:
                got = svc.receive("cr", 3, wait_s=0)
            except MessageNotExist:
                return
            with lock:
                seen.extend(m.body for m in got)

    threads = [threading.Thread(target=worker, args=(services[i % 2],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(seen, key=int) == [str(i) for i in range(total)]
