"""Hostile text and parameters against a real server: refused in each protocol's own format, never a 500.

A poisoned message or push is written below the API (the server's SQLite file, from this process), as the
API refuses such text now; the official SDKs then receive the good messages around it, and the console
shows what was set aside.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.mq.helpers import poison_delivery, poison_message, push_test_server, root_client
from tests.mq.subscriber import Subscriber, serving
from tests.sdkenv import mns115_env, mns130_env, run_in_env  # noqa: F401  (fixtures)
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until
from tidegate.mq.client import MnsClient, MnsClientError, fields, seg
from tidegate.mq.queues import QueueService
from tidegate.mq.topics import TopicService
from tidegate.mq.wire import (
    MessageRequest,
    QueueAttributes,
    SubscriptionAttributes,
    TopicAttributes,
    encode_message,
    encode_queue_attributes,
    encode_subscription,
    encode_topic_attributes,
)
from tidegate.store import Store, open_store

ACCOUNT = "1234567890123456"
REGION = "cn-hangzhou"
KEYS = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    yield from push_test_server(tmp_path_factory.mktemp("mns-hostile") / "data")


@pytest.fixture
def client(server: ServerProcess) -> Iterator[MnsClient]:
    yield from root_client(server)


@pytest.fixture
def below(server: ServerProcess) -> Iterator[Store]:
    """The server's own store, opened from this process (to write what the API refuses)."""
    s = open_store(f"sqlite:///{(server.data_dir / 'tidegate.db').resolve()}")
    yield s
    s.close()


@pytest.fixture
def console(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        r = c.post("/console/api/session", json={"access_key_id": KEYS[0], "access_key_secret": KEYS[1]})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf"]
        yield c


def _refused(c: MnsClient, method: str, path: str, *, query: str = "", body: bytes = b"") -> tuple[int, str]:
    """Send a request the server must refuse; return its status and MNS error code."""
    with pytest.raises(MnsClientError) as e:
        c.request(method, path, query=query, body=body)
    return e.value.status, e.value.error_code


def _create_queue(c: MnsClient, name: str) -> None:
    c.request("PUT", f"/queues/{seg(name)}", body=encode_queue_attributes(QueueAttributes()))


def _send(c: MnsClient, queue: str, body: str) -> None:
    c.request("POST", f"/queues/{seg(queue)}/messages", body=encode_message(MessageRequest(body=body)))


def _poison(store: Store, queue: str, body: str) -> str:
    return poison_message(QueueService(store.database), queue, body)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _no_traceback(server: ServerProcess) -> None:
    log = server.log()
    assert "Traceback" not in log, log[-3000:]


# --- refused on the way in ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "xml_body",
    [
        "<Message><MessageBody>bad&#1;</MessageBody></Message>",
        "<Message><MessageBody>bad&#x1F;</MessageBody></Message>",
        "<Message><MessageBody>&#xFFFE;</MessageBody></Message>",
        "<Message><MessageBody>&#xD800;</MessageBody></Message>",
        "<Message><MessageBody>raw\x01</MessageBody></Message>",
        "<Message><MessageBody>ok</MessageBody><MessageTag>t&#2;</MessageTag></Message>",
        "<Messages><Message><MessageBody>ok</MessageBody></Message>"
        "<Message><MessageBody>&#3;</MessageBody></Message></Messages>",
    ],
)
def test_mns_refuses_what_xml_cannot_carry(client: MnsClient, server: ServerProcess, xml_body: str) -> None:
    _create_queue(client, "strict")
    client.request("PUT", "/topics/strict", body=encode_topic_attributes(TopicAttributes()))
    body = (XML_HEAD + xml_body).encode("utf-8")
    assert _refused(client, "POST", "/queues/strict/messages", body=body) == (400, "MalformedXML")
    if xml_body.startswith("<Message>"):
        assert _refused(client, "POST", "/topics/strict/messages", body=body) == (400, "MalformedXML")
    info = fields(client.request("GET", "/queues/strict").xml())
    assert info["ActiveMessages"] == "0"
    _no_traceback(server)


def test_console_refuses_what_xml_cannot_carry(client: MnsClient, console: httpx.Client) -> None:
    _create_queue(client, "cq")
    client.request("PUT", "/topics/ct", body=encode_topic_attributes(TopicAttributes()))
    endpoint = f"acs:mns:{REGION}:{ACCOUNT}:queues/cq"
    sub = SubscriptionAttributes(endpoint=endpoint, notify_content_format="SIMPLIFIED")
    client.request("PUT", "/topics/ct/subscriptions/s", body=encode_subscription(sub))
    r = console.post("/console/api/queues/cq/messages", json={"body": "bad\u0001"})
    assert r.status_code == 400 and r.json()["code"] == "MalformedXML"
    assert "U+0001 at position 3" in r.json()["message"]
    r = console.post("/console/api/topics/ct/messages", json={"body": "topic\u0003body"})
    assert r.status_code == 400 and r.json()["code"] == "MalformedXML"
    r = console.post("/console/api/topics/ct/messages", json={"body": "fine", "tag": "t\u0004"})
    assert r.status_code == 400 and r.json()["code"] == "MalformedXML"
    # Nothing reached the queue, directly or through the subscription.
    assert console.post("/console/api/topics/ct/messages", json={"body": "good"}).status_code == 201
    got = fields(client.request("GET", "/queues/cq/messages", query="waitseconds=10").xml())
    assert got["MessageBody"] == "good"


def test_a_subscription_endpoint_without_a_host_is_refused(client: MnsClient) -> None:
    client.request("PUT", "/topics/ep", body=encode_topic_attributes(TopicAttributes()))
    for endpoint in ("http://", "https://", "http:///x"):
        body = encode_subscription(SubscriptionAttributes(endpoint=endpoint))
        assert _refused(client, "PUT", "/topics/ep/subscriptions/s", body=body) == (400, "InvalidArgument")


@pytest.mark.parametrize(
    ("n", "query"),
    list(enumerate(["waitseconds=-1", "waitseconds=%FF%FE", "waitseconds=31", "numOfMessages=0", "numOfMessages=17"])),
)
def test_receive_parameters_are_checked_on_a_non_empty_queue(client: MnsClient, n: int, query: str) -> None:
    queue = f"full-{n}"
    _create_queue(client, queue)
    _send(client, queue, "still here")
    queries = [query] + ([query + "&peekonly=true"] if query.startswith("numOfMessages") else [])
    for q in queries:
        assert _refused(client, "GET", f"/queues/{queue}/messages", query=q) == (400, "InvalidArgument"), q
    # The refused receives claimed nothing: the message is still active.
    assert fields(client.request("GET", f"/queues/{queue}").xml())["ActiveMessages"] == "1"


# --- set aside when stored ----------------------------------------------------------------------------

SDK_RECEIVE = """
import json, os
from mns.account import Account
from mns.mns_exception import MNSServerException as MNSExceptionBase
acc = Account(os.environ["MNS_URL"], "testAccessKeyId", "testAccessKeySecret")
q = acc.get_queue(os.environ["QUEUE"])
s = lambda b: b if isinstance(b, str) else b.decode()
out = {}
try:
    out["peek"] = s(q.peek_message().message_body)
except MNSExceptionBase as e:
    out["peek"] = e.type
got = []
for _ in range(4):
    try:
        msgs = q.batch_receive_message(16, 1)
    except MNSExceptionBase as e:
        got.append(e.type)
        break
    for m in msgs:
        got.append(s(m.message_body))
        q.delete_message(m.receipt_handle)
out["received"] = got
try:
    q.receive_message(1)
    out["again"] = "got one"
except MNSExceptionBase as e:
    out["again"] = e.type
print("RESULT " + json.dumps(out))
"""


@pytest.mark.parametrize("env_name", ["mns115", "mns130"])
def test_sdks_receive_the_good_messages_around_a_poisoned_one(
    env_name: str,
    client: MnsClient,
    below: Store,
    console: httpx.Client,
    server: ServerProcess,
    request: pytest.FixtureRequest,
) -> None:
    request.getfixturevalue(f"{env_name}_env")
    queue = f"poisoned-{env_name}"
    _create_queue(client, queue)
    # The good messages are base64 text, as the SDKs send and expect them by default (XML-safe as such).
    _send(client, queue, b64("first"))
    bad = _poison(below, queue, "bad\u0001")
    for i in range(3):
        _send(client, queue, b64(f"after-{i}"))
    proc = run_in_env(env_name, SDK_RECEIVE, env={"MNS_URL": server.url, "QUEUE": queue}, timeout=120)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    out = json.loads(lines[-1][len("RESULT ") :])
    assert out["peek"] == "first"
    assert out["received"][:4] == ["first", "after-0", "after-1", "after-2"]
    assert out["received"][4:] == ["MessageNotExist"] and out["again"] == "MessageNotExist"
    # Set aside, reported in the log (one line, no traceback) and on the console's queue page.
    log = server.log()
    assert f"queue {queue}: message {bad} quarantined" in log
    _no_traceback(server)
    page = console.get(f"/console/api/queues/{queue}").json()
    assert page["quarantined"] == 1 and page["queue"]["active_messages"] == 0
    (item,) = page["quarantined_messages"]
    assert item["message_id"] == bad and "U+0001 at position 3" in item["reason"]
    # The console deletes it for good.
    assert console.delete(f"/console/api/queues/{queue}/quarantine/{item['id']}").status_code == 200
    assert console.get(f"/console/api/queues/{queue}").json()["quarantined"] == 0
    r = console.delete(f"/console/api/queues/{queue}/quarantine/{item['id']}")
    assert r.status_code == 404 and r.json()["code"] == "MessageNotExist"
    assert console.delete(f"/console/api/queues/{queue}/quarantine/x1").status_code == 400


# --- pushes -------------------------------------------------------------------------------------------


@pytest.fixture
def subscriber() -> Iterator[tuple[Subscriber, str]]:
    yield from serving(fail_first={"/down": 1000})


def test_pushes_that_cannot_succeed_end_failed_and_the_console_shows_them(
    client: MnsClient,
    below: Store,
    console: httpx.Client,
    server: ServerProcess,
    subscriber: tuple[Subscriber, str],
    tmp_path: Path,
) -> None:
    sub, url = subscriber
    client.request("PUT", "/topics/pushy", body=encode_topic_attributes(TopicAttributes()))
    for name, endpoint, fmt in (("down", f"{url}/down", "XML"), ("xml", f"{url}/xml", "XML")):
        attrs = SubscriptionAttributes(endpoint=endpoint, notify_content_format=fmt, notify_strategy="BACKOFF_RETRY")
        client.request("PUT", f"/topics/pushy/subscriptions/{name}", body=encode_subscription(attrs))
    refused = SubscriptionAttributes(endpoint="http://127.0.0.1:1/nothing-listens")
    client.request("PUT", "/topics/pushy/subscriptions/refused", body=encode_subscription(refused))
    # An XML push of text XML cannot carry, as stored before the service refused it.
    poison_delivery(TopicService(below.database, REGION, ACCOUNT), "pushy", "xml", "p\u0001")
    client.request("POST", "/topics/pushy/messages", body=encode_message(MessageRequest(body="news")))

    def failed() -> dict[str, tuple[int, str | None]]:
        doc = console.get("/console/api/topics/pushy").json()
        return {s["subscription_name"]: (s["failed"], s["last_failure"]) for s in doc["subscriptions"]}

    wait_until(
        lambda: all(n == 1 for n, _ in failed().values()), timeout=60, message=lambda: f"one failure each: {failed()}"
    )
    assert failed() == {
        "down": (1, "HTTP 500"),
        "refused": (1, "connection refused"),
        "xml": (1, "not renderable: U+0001 at position 1"),
    }
    assert sub.attempts["/down"] == 4  # the first attempt and BACKOFF_RETRY's three retries
    assert [b"news" in r.body for r in sub.at("/xml")] == [True]
    doc = console.get("/console/api/topics/pushy").json()
    attempts = {f["subscription"]: f["attempts"] for f in doc["failed_deliveries"]}
    assert attempts == {"down": 4, "refused": 4, "xml": 1}
    assert doc["topic"]["message_count"] == 0  # nothing left to push: no row is leased again
    log = server.log()
    assert "failed for good after 4 attempt(s): HTTP 500" in log and "(attempt 3 of 4): connection refused" in log
    _no_traceback(server)
    # A restart brings nothing back: the failed pushes stay failed, and none is pending.
    server.restart()
    doc = console.get("/console/api/topics/pushy").json()
    assert doc["topic"]["message_count"] == 0 and len(doc["failed_deliveries"]) == 3
