"""Topics push to a real HTTP subscriber (three formats, signed, retried) and to queues, with FilterTag."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.mq.helpers import push_test_server, root_client
from tests.mq.subscriber import Subscriber, serving
from tests.server import ServerProcess
from tests.waiting import wait_until
from tidegate.mq.client import MnsClient, MnsClientError, fields, seg
from tidegate.mq.push import retry_delay_s
from tidegate.mq.wire import (
    MessageRequest,
    QueueAttributes,
    SubscriptionAttributes,
    TopicAttributes,
    encode_message,
    encode_queue_attributes,
    encode_subscription,
    encode_topic_attributes,
    parse_xml,
)

ACCOUNT = "1234567890123456"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from push_test_server(tmp_path_factory.mktemp("mns-push") / "data")


@pytest.fixture
def client(server: ServerProcess) -> Iterator[MnsClient]:
    yield from root_client(server)


@pytest.fixture
def subscriber() -> Iterator[tuple[Subscriber, str]]:
    yield from serving(fail_first={"/flaky": 2})


def _subscribe(c: MnsClient, topic: str, name: str, attrs: SubscriptionAttributes) -> None:
    c.request("PUT", f"/topics/{seg(topic)}/subscriptions/{seg(name)}", body=encode_subscription(attrs))


def _publish(c: MnsClient, topic: str, body: str, tag: str | None = None) -> str:
    r = c.request("POST", f"/topics/{seg(topic)}/messages", body=encode_message(MessageRequest(body=body, tag=tag)))
    return fields(r.xml())["MessageId"]


def test_http_push_three_formats_signed(client: MnsClient, subscriber: tuple[Subscriber, str]) -> None:
    sub, url = subscriber
    client.request("PUT", "/topics/fmt", body=encode_topic_attributes(TopicAttributes()))
    for fmt in ("XML", "JSON", "SIMPLIFIED"):
        _subscribe(
            client, "fmt", fmt.lower(), SubscriptionAttributes(endpoint=f"{url}/{fmt}", notify_content_format=fmt)
        )
    mid = _publish(client, "fmt", "hello <world>", tag="t1")
    wait_until(lambda: all(sub.at(f"/{f}") for f in ("XML", "JSON", "SIMPLIFIED")), message="a push in each format")
    (xml,) = sub.at("/XML")
    (js,) = sub.at("/JSON")
    (simple,) = sub.at("/SIMPLIFIED")
    assert xml.verified and js.verified and simple.verified
    note = fields(parse_xml(xml.body))
    assert note["Message"] == "hello <world>" and note["MessageId"] == mid and note["TopicOwner"] == ACCOUNT
    assert note["MessageTag"] == "t1" and note["SubscriptionName"] == "xml" and note["TopicName"] == "fmt"
    doc = json.loads(js.body)
    assert doc["Message"] == "hello <world>" and isinstance(doc["PublishTime"], str)
    assert simple.body == b"hello <world>" and simple.headers["x-mns-message-id"] == mid
    assert simple.headers["content-type"].startswith("text/plain")


def test_retries_after_500(client: MnsClient, subscriber: tuple[Subscriber, str]) -> None:
    sub, url = subscriber
    client.request("PUT", "/topics/retry", body=encode_topic_attributes(TopicAttributes()))
    _subscribe(client, "retry", "s", SubscriptionAttributes(endpoint=f"{url}/flaky"))
    _publish(client, "retry", "persist")
    wait_until(lambda: sub.at("/flaky"), message="a push to /flaky")
    assert sub.attempts["/flaky"] == 3 and sub.at("/flaky")[0].body.startswith(b"<?xml")
    # The server drops the pending push once the 2xx answer reaches it, just after the subscriber saw it.
    wait_until(
        lambda: fields(client.request("GET", "/topics/retry").xml())["MessageCount"] == "0", message="no message left"
    )


def test_queue_endpoint_and_filter_tag(client: MnsClient, subscriber: tuple[Subscriber, str]) -> None:
    sub, url = subscriber
    client.request("PUT", "/queues/inbox", body=encode_queue_attributes(QueueAttributes()))
    client.request("PUT", "/topics/tags", body=encode_topic_attributes(TopicAttributes()))
    endpoint = f"acs:mns:cn-hangzhou:{ACCOUNT}:queues/inbox"
    _subscribe(
        client, "tags", "q", SubscriptionAttributes(endpoint=endpoint, filter_tag="red", notify_content_format="JSON")
    )
    _subscribe(client, "tags", "h", SubscriptionAttributes(endpoint=f"{url}/blue", filter_tag="blue"))
    _publish(client, "tags", "for red", tag="red")
    _publish(client, "tags", "for blue", tag="blue")
    _publish(client, "tags", "untagged")
    got = fields(client.request("GET", "/queues/inbox/messages", query="waitseconds=10").xml())
    assert json.loads(got["MessageBody"])["Message"] == "for red"
    wait_until(lambda: sub.at("/blue"), message="a push to /blue")
    assert [fields(parse_xml(r.body))["Message"] for r in sub.at("/blue")] == ["for blue"]
    with pytest.raises(MnsClientError, match="MessageNotExist"):
        client.request("GET", "/queues/inbox/messages", query="waitseconds=1")


def test_bad_endpoint_is_refused(client: MnsClient) -> None:
    client.request("PUT", "/topics/bad", body=encode_topic_attributes(TopicAttributes()))
    for endpoint in ("ftp://x", "acs:mns:other-region:1:queues/q"):
        with pytest.raises(MnsClientError, match="InvalidArgument"):
            _subscribe(client, "bad", "s", SubscriptionAttributes(endpoint=endpoint))


def test_retry_schedules() -> None:
    assert all(10 <= (retry_delay_s("BACKOFF_RETRY", n) or 0) <= 20 for n in (1, 2, 3))
    assert retry_delay_s("BACKOFF_RETRY", 4) is None
    assert [retry_delay_s("EXPONENTIAL_DECAY_RETRY", n) for n in (1, 2, 10, 11, 176)] == [1, 2, 512, 512, 512]
    assert retry_delay_s("EXPONENTIAL_DECAY_RETRY", 177) is None
