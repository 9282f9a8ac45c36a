"""Topics, subscriptions and the push outbox on every store backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mq.helpers import FakeClock
from tests.mq.subscriber import Subscriber, serving
from tests.waiting import wait_until
from tidegate.auth.push import load_or_create_push_identity
from tidegate.mq.errors import (
    InvalidQueueArgument,
    SubscriptionAlreadyExist,
    SubscriptionNotExist,
    TopicAlreadyExist,
    TopicNotExist,
)
from tidegate.mq.push import CERT_SETTING_PREFIX, PushWorker
from tidegate.mq.queues import QueueService
from tidegate.mq.topics import TopicService
from tidegate.mq.wire import MessageRequest, QueueAttributes, SubscriptionAttributes, TopicAttributes
from tidegate.store import Store

ACCOUNT = "1234567890123456"
QUEUE_EP = f"acs:mns:cn-hangzhou:{ACCOUNT}:queues/sink"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ts(store: Store, clock: FakeClock) -> TopicService:
    return TopicService(store.database, "cn-hangzhou", ACCOUNT, clock=clock)


def test_topic_lifecycle(ts: TopicService) -> None:
    assert ts.create_topic("t1", TopicAttributes()) is True
    assert ts.create_topic("t1", TopicAttributes(maximum_message_size=65536)) is False
    with pytest.raises(TopicAlreadyExist):
        ts.create_topic("t1", TopicAttributes(maximum_message_size=2048))
    ts.set_topic_attributes("t1", TopicAttributes(maximum_message_size=2048, logging_enabled=True))
    info = ts.get_topic("t1")
    assert (info.maximum_message_size, info.logging_enabled, info.message_count) == (2048, True, 0)
    ts.create_topic("t2", TopicAttributes())
    page, marker = ts.list_topics(prefix="t", limit=1)
    assert [t.name for t in page] == ["t1"] and marker == "t1"
    assert [t.name for t in ts.list_topics(marker="t1")[0]] == ["t2"]
    with pytest.raises(InvalidQueueArgument):
        ts.publish("t1", MessageRequest(body="x" * 2049))
    ts.delete_topic("t1")
    with pytest.raises(TopicNotExist):
        ts.get_topic("t1")
    with pytest.raises(TopicNotExist):
        ts.publish("t1", MessageRequest(body="x"))


def test_delivery_state_counts_pending_pushes_per_subscription(ts: TopicService) -> None:
    ts.create_topic("t", TopicAttributes())
    ts.subscribe("t", "a", SubscriptionAttributes(endpoint="http://127.0.0.1:9/a"))
    ts.subscribe("t", "b", SubscriptionAttributes(endpoint="http://127.0.0.1:9/b", filter_tag="blue"))
    assert ts.delivery_state("t") == {}
    ts.publish("t", MessageRequest(body="one"))
    ts.publish("t", MessageRequest(body="two", tag="blue"))
    state = ts.delivery_state("t")  # no push worker runs: everything is still pending, never tried
    assert {name: (row["pending"], row["max_attempts"]) for name, row in state.items()} == {"a": (2, 0), "b": (1, 0)}


def test_subscription_lifecycle(ts: TopicService) -> None:
    ts.create_topic("t", TopicAttributes())
    with pytest.raises(TopicNotExist):
        ts.subscribe("nope", "s", SubscriptionAttributes(endpoint="http://x/"))
    assert ts.subscribe("t", "s", SubscriptionAttributes(endpoint="http://x/", filter_tag="a")) is True
    assert ts.subscribe("t", "s", SubscriptionAttributes(endpoint="http://x/", filter_tag="a")) is False
    with pytest.raises(SubscriptionAlreadyExist):
        ts.subscribe("t", "s", SubscriptionAttributes(endpoint="http://y/"))
    info = ts.get_subscription("t", "s")
    assert (info.notify_strategy, info.notify_content_format, info.filter_tag) == ("BACKOFF_RETRY", "XML", "a")
    assert info.topic_owner == ACCOUNT
    ts.set_subscription_attributes("t", "s", SubscriptionAttributes(notify_strategy="EXPONENTIAL_DECAY_RETRY"))
    assert ts.get_subscription("t", "s").notify_strategy == "EXPONENTIAL_DECAY_RETRY"
    ts.subscribe("t", "s2", SubscriptionAttributes(endpoint=QUEUE_EP))
    subs, marker = ts.list_subscriptions("t", limit=1)
    assert [s.subscription_name for s in subs] == ["s"] and marker == "s"
    ts.unsubscribe("t", "s")
    with pytest.raises(SubscriptionNotExist):
        ts.get_subscription("t", "s")
    with pytest.raises(SubscriptionNotExist):
        ts.set_subscription_attributes("t", "s", SubscriptionAttributes(notify_strategy="BACKOFF_RETRY"))


@pytest.fixture
def subscriber() -> Iterator[tuple[Subscriber, str]]:
    yield from serving(fail_first={"/fail": 1000})


def test_worker_delivers_to_queue_and_http_and_retries(
    store: Store, tmp_path: Path, subscriber: tuple[Subscriber, str]
) -> None:
    sub, url = subscriber
    db = store.database
    qs = QueueService(db)
    ts = TopicService(db, "cn-hangzhou", ACCOUNT)
    qs.create_queue("sink", QueueAttributes())
    ts.create_topic("t", TopicAttributes())
    ts.subscribe("t", "q", SubscriptionAttributes(endpoint=QUEUE_EP, notify_content_format="SIMPLIFIED"))
    ts.subscribe("t", "h", SubscriptionAttributes(endpoint=f"{url}/ok", notify_content_format="SIMPLIFIED"))
    ts.subscribe("t", "f", SubscriptionAttributes(endpoint=f"{url}/fail", notify_strategy="BACKOFF_RETRY"))
    with pytest.raises(RuntimeError), db.write() as tx:  # a rolled-back caller transaction publishes nothing
        ts.publish_in(tx, "t", MessageRequest(body="ghost"))
        raise RuntimeError("abort")
    ts.publish("t", MessageRequest(body="news"))
    ts.publish("t", MessageRequest(body="more"))
    assert ts.get_topic("t").message_count == 2

    identity = load_or_create_push_identity(tmp_path)
    sub.cert_pem = identity.cert_pem
    worker = PushWorker(store, identity, "http://127.0.0.1:1", "cn-hangzhou", ACCOUNT, retry_scale=0.001)
    assert store.get_setting(CERT_SETTING_PREFIX + worker.cert_name) is None
    worker.start()
    try:
        assert store.get_setting(CERT_SETTING_PREFIX + worker.cert_name) is not None
        bodies = [m.body for m in qs.receive("sink", 16, wait_s=5)]
        if len(bodies) < 2:  # the two deliveries may land in two transactions
            bodies += [m.body for m in qs.receive("sink", 16, wait_s=5)]
        assert sorted(bodies) == ["more", "news"]
        wait_until(lambda: len(sub.at("/ok")) == 2, message="two pushes to /ok")
        assert all(r.verified for r in sub.at("/ok"))
        assert all(r.verified for r in sub.at("/ok"))
        # /fail always answers 500: one try and three retries, then the delivery is dropped.
        wait_until(
            lambda: sub.attempts.get("/fail", 0) == 8 and ts.get_topic("t").message_count == 0,
            message="8 attempts at /fail and no message left",
        )
    finally:
        worker.stop()
