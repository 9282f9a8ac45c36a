"""Text XML 1.0 cannot carry is refused on the way in; what is already stored is set aside, never a 500.

Both store backends. Poisoned rows are written below the API (the store's own query), as only a message
stored before the service refused such text, or written by another program, can hold it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mq.helpers import FakeClock, poison_delivery, poison_message
from tests.mq.subscriber import Subscriber, serving
from tests.waiting import wait_until
from tidegate.auth.push import load_or_create_push_identity
from tidegate.mq.errors import InvalidQueueArgument, MessageNotExist
from tidegate.mq.push import PushWorker, failure_class, max_attempts
from tidegate.mq.queues import QueueService
from tidegate.mq.topics import TopicService
from tidegate.mq.wire import (
    MessageProperty,
    MessageRequest,
    QueueAttributes,
    SubscriptionAttributes,
    TopicAttributes,
    XmlUnsafeText,
    render_message,
    render_messages,
)
from tidegate.store import Store

ACCOUNT = "1234567890123456"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def qs(store: Store, clock: FakeClock) -> QueueService:
    service = QueueService(store.database, clock=clock)
    service.create_queue("q", QueueAttributes())
    return service


@pytest.fixture
def ts(store: Store, clock: FakeClock) -> TopicService:
    service = TopicService(store.database, "cn-hangzhou", ACCOUNT, clock=clock)
    service.create_topic("t", TopicAttributes())
    return service


def poison(qs: QueueService, body: str, *, props: str | None = None, priority: int = 8) -> str:
    return poison_message(qs, "q", body, props=props, priority=priority)


def send(qs: QueueService, *bodies: str) -> None:
    qs.send("q", [MessageRequest(body=b) for b in bodies])


# --- refused on the way in ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        MessageRequest(body="bad\u0001"),
        MessageRequest(body="nul\u0000"),
        MessageRequest(body="lone \ud800"),
        MessageRequest(body="\ufffe"),
        MessageRequest(body="ok", tag="t\u0007"),
        MessageRequest(body="ok", message_group_id="g\u001f"),
        MessageRequest(body="ok", user_properties=(MessageProperty("k", "v\u000b", "STRING"),)),
        MessageRequest(body="ok", attributes={"k": "\u000c"}),
    ],
)
def test_unsafe_text_is_refused_by_send_and_publish(
    qs: QueueService, ts: TopicService, message: MessageRequest
) -> None:
    with pytest.raises(XmlUnsafeText) as e:
        qs.send("q", [message])
    assert e.value.code == "MalformedXML" and "XML 1.0 cannot carry" in e.value.message
    with pytest.raises(XmlUnsafeText):
        ts.publish("t", message)
    assert qs.get_queue("q").active_messages == 0 and ts.get_topic("t").message_count == 0


def test_the_refusal_names_the_character_and_its_position(qs: QueueService) -> None:
    with pytest.raises(XmlUnsafeText, match=r"message body holds U\+0001 at position 3"):
        qs.send_message("q", "bad\u0001")
    with pytest.raises(XmlUnsafeText, match=r"message tag holds U\+0003 at position 0"):
        qs.send("q", [MessageRequest(body="x", tag="\u0003")])


def test_one_unsafe_entry_refuses_the_whole_batch(qs: QueueService) -> None:
    with pytest.raises(XmlUnsafeText):
        qs.send("q", [MessageRequest(body="good"), MessageRequest(body="bad\u0002")])
    assert qs.get_queue("q").active_messages == 0


def test_everything_xml_can_carry_is_accepted(qs: QueueService) -> None:
    text = "tab\tlf\ncr\r \ud7ff \ue000 \ufffd \U00010000 \U0010ffff 中文 base64+/="
    send(qs, text)
    (m,) = qs.receive("q", 1, wait_s=0)
    assert m.body == text
    render_message(m)  # renders


def test_a_subscription_endpoint_needs_a_host(ts: TopicService) -> None:
    for endpoint in ("http://", "https://", "http:///path", "http://:80/", "http://h:99999/"):
        with pytest.raises(InvalidQueueArgument):
            ts.subscribe("t", "s", SubscriptionAttributes(endpoint=endpoint))
    assert ts.subscribe("t", "s", SubscriptionAttributes(endpoint="http://127.0.0.1:9/p")) is True


# --- set aside when stored ----------------------------------------------------------------------------


def test_receive_sets_an_unrenderable_message_aside_and_delivers_the_rest(
    qs: QueueService, caplog: pytest.LogCaptureFixture
) -> None:
    send(qs, "one")
    bad = poison(qs, "bad\u0001")
    send(qs, "two", "three")
    with caplog.at_level(logging.WARNING, logger="tidegate.mq.queues"):
        got = qs.receive("q", 16, wait_s=0)
    assert [m.body for m in got] == ["one", "two", "three"]
    render_messages(got)  # the answer renders
    (line,) = [r.getMessage() for r in caplog.records if "quarantined" in r.getMessage()]
    assert "queue q" in line and bad in line and "U+0001 at position 3" in line
    count, items = qs.quarantined("q")
    assert count == 1 and [i.message_id for i in items] == [bad]
    assert "U+0001 at position 3" in items[0].reason and items[0].dequeue_count == 1
    # It is gone from the queue: counts, peeks and later receives never see it again.
    info = qs.get_queue("q")
    assert (info.active_messages, info.inactive_messages) == (0, 3)
    with pytest.raises(MessageNotExist):
        qs.receive("q", 16, wait_s=0)


def test_a_receive_whose_every_claim_is_unrenderable_looks_again(qs: QueueService) -> None:
    for _ in range(3):
        poison(qs, "\u0001", priority=1)
    send(qs, "good")
    (m,) = qs.receive("q", 1, wait_s=0)  # three single claims set aside, then the good one
    assert m.body == "good"
    assert qs.quarantined("q")[0] == 3
    poison(qs, "\u0002")
    with pytest.raises(MessageNotExist):  # only a poisoned one: nothing to deliver, no error
        qs.receive("q", 1, wait_s=0)
    assert qs.quarantined("q")[0] == 4


def test_peek_sets_it_aside_too(qs: QueueService) -> None:
    poison(qs, "p\u0001", priority=1)
    send(qs, "visible")
    assert [m.body for m in qs.peek("q", 16)] == ["visible"]
    assert qs.quarantined("q")[0] == 1
    poison(qs, "\u0005")
    qs.receive("q", 1, wait_s=0)
    with pytest.raises(MessageNotExist):
        qs.peek("q", 1)
    assert qs.quarantined("q")[0] == 2


def test_damaged_properties_are_set_aside(qs: QueueService) -> None:
    poison(qs, "fine body", props="{not json")
    poison(qs, "fine body", props='{"u": [["k", "v\\u0001", "STRING"]]}')
    send(qs, "good")
    assert [m.body for m in qs.receive("q", 16, wait_s=0)] == ["good"]
    count, items = qs.quarantined("q")
    assert count == 2
    assert "damaged" in items[0].reason and "property k" in items[1].reason


def test_quarantined_messages_can_be_deleted_and_go_with_their_queue(qs: QueueService, clock: FakeClock) -> None:
    poison(qs, "\u0001")
    poison(qs, "\u0002")
    with pytest.raises(MessageNotExist):
        qs.receive("q", 16, wait_s=0)
    _, items = qs.quarantined("q")
    qs.delete_quarantined("q", items[0].id)
    with pytest.raises(MessageNotExist):
        qs.delete_quarantined("q", items[0].id)
    assert [i.id for i in qs.quarantined("q")[1]] == [items[1].id]
    # Retention applies to them as to every message.
    clock.advance(3601)
    assert qs.quarantined("q")[0] == 0
    assert qs.expire() == 1
    poison(qs, "\u0003")
    with pytest.raises(MessageNotExist):
        qs.receive("q", 1, wait_s=0)
    qs.delete_queue("q")
    qs.create_queue("q", QueueAttributes())
    assert qs.quarantined("q") == (0, [])


def test_a_wait_counts_from_when_the_request_started(qs: QueueService) -> None:
    # A long poll that spent its whole wait queued for a slot answers at once, not after another wait.
    t0 = time.monotonic()
    with pytest.raises(MessageNotExist):
        qs.receive("q", 1, wait_s=30, started=time.monotonic() - 100)
    assert time.monotonic() - t0 < 15  # the default would have waited 30 s
    send(qs, "late")  # and a message already there is still taken
    assert [m.body for m in qs.receive("q", 1, wait_s=30, started=time.monotonic() - 100)] == ["late"]


# --- pushes -------------------------------------------------------------------------------------------


@pytest.fixture
def subscriber() -> Iterator[tuple[Subscriber, str]]:
    yield from serving(fail_first={"/down": 1000})


def test_pushes_end_in_a_durable_failed_state(
    store: Store, tmp_path: Path, subscriber: tuple[Subscriber, str], caplog: pytest.LogCaptureFixture
) -> None:
    sub, url = subscriber
    db = store.database
    qs = QueueService(db)
    ts = TopicService(db, "cn-hangzhou", ACCOUNT)
    ts.create_topic("t", TopicAttributes())
    ts.subscribe("t", "down", SubscriptionAttributes(endpoint=f"{url}/down", notify_strategy="BACKOFF_RETRY"))
    ts.subscribe("t", "xml", SubscriptionAttributes(endpoint=f"{url}/xml", notify_content_format="XML"))
    qs.create_queue("sink", QueueAttributes())
    sink = f"acs:mns:cn-hangzhou:{ACCOUNT}:queues/sink"
    ts.subscribe("t", "simple", SubscriptionAttributes(endpoint=sink, notify_content_format="SIMPLIFIED"))
    ts.publish("t", MessageRequest(body="fine"))
    poison_delivery(ts, "t", "xml", "p\u0001")  # an XML push that cannot be rendered
    poison_delivery(ts, "t", "simple", "s\u0003")  # a SIMPLIFIED fan-out into a queue that XML cannot carry

    identity = load_or_create_push_identity(tmp_path)
    sub.cert_pem = identity.cert_pem
    worker = PushWorker(store, identity, "http://127.0.0.1:1", "cn-hangzhou", ACCOUNT, retry_scale=0.001)
    with caplog.at_level(logging.WARNING, logger="tidegate.mq.push"):
        worker.start()
        try:
            wait_until(lambda: ts.get_topic("t").message_count == 0, message="no message left")
        finally:
            worker.stop()
    # /down answered 500 to the first attempt and the three retries of BACKOFF_RETRY; nothing more.
    assert sub.attempts["/down"] == max_attempts("BACKOFF_RETRY") == 4
    assert [r.body for r in sub.at("/xml")] and all(b"fine" in r.body for r in sub.at("/xml"))
    assert [m.body for m in qs.receive("sink", 16, wait_s=0)] == ["fine"]
    state = ts.failure_state("t")
    assert {k: (int(v["failed"]), v["last_failure"]) for k, v in state.items()} == {
        "down": (1, "HTTP 500"),
        "xml": (1, "not renderable: U+0001 at position 1"),
        "simple": (1, "not renderable: U+0003 at position 1"),
    }
    failed = {r["subscription"]: int(r["attempts"]) for r in ts.failed_deliveries("t")}
    assert failed == {"down": 4, "xml": 1, "simple": 1}
    assert ts.delivery_state("t") == {}  # nothing is leased again
    lines = [r for r in caplog.records if r.name == "tidegate.mq.push"]
    assert not any(r.exc_info for r in lines)  # expected failures log one line each, no traceback
    down = [r.getMessage() for r in lines if "/down" in r.getMessage()]
    assert len(down) == 4 and "failed for good after 4 attempt(s): HTTP 500" in down[-1]
    # Unsubscribing (or deleting the topic) removes them.
    ts.unsubscribe("t", "down")
    assert set(ts.failure_state("t")) == {"xml", "simple"}
    ts.delete_topic("t")
    ts.create_topic("t", TopicAttributes())
    assert ts.failure_state("t") == {} and ts.failed_deliveries("t") == []


def test_a_claim_counts_an_attempt_and_a_dead_process_cannot_lease_a_push_forever(
    store: Store, ts: TopicService, clock: FakeClock, tmp_path: Path
) -> None:
    ts.subscribe("t", "s", SubscriptionAttributes(endpoint="http://127.0.0.1:9/x"))
    ts.publish("t", MessageRequest(body="m"))
    # Claims that never report back (the process died mid-push): each one counts.
    for n in range(1, 5):
        with ts.db.write() as tx:
            (row,) = ts.rows(tx, "claim_deliveries", {"owner": "dead", "now": clock(), "until": clock() + 1, "n": 8})
        assert int(row["attempts"]) == n
        clock.advance(1)
    worker = PushWorker(store, load_or_create_push_identity(tmp_path), "http://x", "cn-hangzhou", ACCOUNT, clock=clock)
    try:
        assert worker.run_once() == 1  # the fifth claim is past BACKOFF_RETRY's four attempts: failed, not pushed
    finally:
        worker.stop()
    (failed,) = ts.failed_deliveries("t")
    assert failed["failure"] == "no outcome (the delivering process stopped)" and int(failed["attempts"]) == 4
    assert ts.get_topic("t").message_count == 0


def test_failure_classes_never_echo_the_far_side() -> None:
    import httpx

    from tidegate.mq.errors import QueueNotExist
    from tidegate.mq.push import EndpointStatus

    assert failure_class(EndpointStatus(503)) == "HTTP 503"
    assert failure_class(httpx.ConnectTimeout("slow")) == "timeout"
    assert failure_class(httpx.ConnectError("[Errno 111] Connection refused")) == "connection refused"
    assert failure_class(httpx.ConnectError("Name or service not known")) == "connection failed"
    assert failure_class(QueueNotExist("secret detail")) == "queue: QueueNotExist"
    assert failure_class(RuntimeError("far side said <html>")) == "RuntimeError"
