"""The MNS operations (docs/protocols.md, MNS: operations): one function per (resource, method), request in, reply out.

Each handler runs in a worker thread (store calls block) and returns a :class:`Reply`; errors are raised
as :class:`~tidegate.errors.TidegateError` subclasses and rendered by :mod:`tidegate.api.mns`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tidegate.api.mns_auth import MnsRequest
from tidegate.mq import wire
from tidegate.mq._common import check_range
from tidegate.mq.client import seg
from tidegate.mq.errors import InvalidQueueArgument, MessageNotExist
from tidegate.mq.queues import MAX_WAIT_S, QueueService
from tidegate.mq.topics import TopicService
from tidegate.mq.wire_render import EntryError, SendResult
from tidegate.mq.wire_requests import QueueAttributes, TopicAttributes


class MissingReceiptHandle(InvalidQueueArgument):
    """The receipt handle is missing."""

    code = "MissingReceiptHandle"


class MissingVisibilityTimeout(InvalidQueueArgument):
    """The visibility timeout is missing."""

    code = "MissingVisibilityTimeout"


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful answer: status, XML body (may be empty) and extra headers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MnsServices:
    """The services the MNS handlers call."""

    queues: QueueService
    topics: TopicService


def _url(base: str, *parts: str) -> str:
    return base + "".join("/" + seg(p) for p in parts)


def _listing(req: MnsRequest) -> tuple[str, int, str, bool]:
    h = req.headers
    limit = req.int_param("x-mns-ret-number", h.get("x-mns-ret-number"))
    with_meta = (h.get("x-mns-with-meta") or "").strip().lower() == "true"
    return h.get("x-mns-prefix") or "", 1000 if limit is None else limit, h.get("x-mns-marker") or "", with_meta


def _body_or_empty(req: MnsRequest, root: str) -> bytes:
    # A missing body is treated as an empty element of the expected root (all defaults).
    return req.body if req.body.strip() else f"<{root}/>".encode()


# --- queues -------------------------------------------------------------------------------------------


def put_queue(s: MnsServices, req: MnsRequest, name: str) -> Reply:
    """CreateQueue (201, 204 for an identical re-create) or SetQueueAttributes (``?metaoverride=true``)."""
    attrs: QueueAttributes = wire.parse_queue_attributes(_body_or_empty(req, "Queue"))
    if (req.q("metaoverride") or "").lower() == "true":
        s.queues.set_queue_attributes(name, attrs)
        return Reply(204)
    created = s.queues.create_queue(name, attrs)
    return Reply(201 if created else 204, headers={"Location": _url(req.base_url, "queues", name)})


def get_queue(s: MnsServices, req: MnsRequest, name: str) -> Reply:
    """GetQueueAttributes."""
    return Reply(200, wire.render_queue(s.queues.get_queue(name)))


def delete_queue(s: MnsServices, req: MnsRequest, name: str) -> Reply:
    """DeleteQueue."""
    s.queues.delete_queue(name)
    return Reply(204)


def list_queues(s: MnsServices, req: MnsRequest) -> Reply:
    """ListQueue (``x-mns-prefix`` / ``x-mns-ret-number`` / ``x-mns-marker`` / ``x-mns-with-meta``)."""
    prefix, limit, marker, meta = _listing(req)
    infos, nxt = s.queues.list_queues(prefix, limit, marker, with_counts=meta)
    items = [(_url(req.base_url, "queues", q.name), q if meta else None) for q in infos]
    return Reply(200, wire.render_queue_list(items, nxt))


# --- messages -----------------------------------------------------------------------------------------


def send_messages(s: MnsServices, req: MnsRequest, queue: str) -> Reply:
    """SendMessage (one ``<Message>``) or BatchSendMessage (``<Messages>``, partial failure → 500)."""
    parsed = wire.parse_send_body(req.body)
    if not isinstance(parsed, list):
        (result,) = s.queues.send(queue, [parsed])
        if isinstance(result, EntryError):
            raise InvalidQueueArgument(result.message)
        return Reply(201, wire.render_send_result(result))
    results = s.queues.send(queue, parsed)
    failed = any(isinstance(r, EntryError) for r in results)
    return Reply(500 if failed else 201, wire.render_batch_send(results))


def receive_messages(
    s: MnsServices, req: MnsRequest, queue: str, *, immediate: bool = False, started: float | None = None
) -> Reply:
    """ReceiveMessage / BatchReceiveMessage / PeekMessage / BatchPeekMessage (chosen by the query).

    ``immediate``: take only what is available now (raises MessageNotExist instead of long-polling); the
    parameters are validated all the same. ``started``: when the request arrived (``time.monotonic()``),
    so that time spent waiting for a long-poll slot counts against ``waitseconds``.
    """
    n_text = req.q("numOfMessages")
    batch = n_text is not None
    n = req.int_param("numOfMessages", n_text)
    n = 1 if n is None else check_range("numOfMessages", n, 1, wire.MAX_BATCH)
    props = wire.client_reads_properties(req.headers.get("user-agent"))
    if (req.q("peekonly") or "").lower() == "true":
        views = s.queues.peek(queue, n)
    else:
        wait = req.int_param("waitseconds", req.q("waitseconds"))
        if wait is not None:
            check_range("waitseconds", wait, 0, MAX_WAIT_S)
        views = s.queues.receive(queue, n, 0 if immediate else wait, started=started)
    if not views:  # pragma: no cover - the services raise instead
        raise MessageNotExist()
    body = wire.render_messages(views, props) if batch else wire.render_message(views[0], props)
    return Reply(200, body)


def delete_messages(s: MnsServices, req: MnsRequest, queue: str) -> Reply:
    """DeleteMessage (``?ReceiptHandle=``) or BatchDeleteMessage (``<ReceiptHandles>``, partial → 404)."""
    handle = req.q("ReceiptHandle")
    if handle is not None or not req.body.strip():
        if not handle:
            raise MissingReceiptHandle()
        s.queues.delete_message(queue, handle)
        return Reply(204)
    errors = s.queues.delete_messages(queue, wire.parse_receipt_handles(req.body))
    if errors:
        return Reply(404, wire.render_batch_delete_errors(errors))
    return Reply(204)


def change_visibility(s: MnsServices, req: MnsRequest, queue: str) -> Reply:
    """ChangeMessageVisibility (``?ReceiptHandle=…&VisibilityTimeout=N``)."""
    handle = req.q("ReceiptHandle")
    if not handle:
        raise MissingReceiptHandle()
    timeout = req.int_param("VisibilityTimeout", req.q("VisibilityTimeout"))
    if timeout is None:
        raise MissingVisibilityTimeout()
    new_handle, nvt = s.queues.change_visibility(queue, handle, timeout)
    return Reply(200, wire.render_change_visibility(new_handle, nvt))


# --- topics and subscriptions -------------------------------------------------------------------------


def put_topic(s: MnsServices, req: MnsRequest, name: str) -> Reply:
    """CreateTopic or SetTopicAttributes (``?metaoverride=true``)."""
    attrs: TopicAttributes = wire.parse_topic_attributes(_body_or_empty(req, "Topic"))
    if (req.q("metaoverride") or "").lower() == "true":
        s.topics.set_topic_attributes(name, attrs)
        return Reply(204)
    created = s.topics.create_topic(name, attrs)
    return Reply(201 if created else 204, headers={"Location": _url(req.base_url, "topics", name)})


def get_topic(s: MnsServices, req: MnsRequest, name: str) -> Reply:
    """GetTopicAttributes."""
    return Reply(200, wire.render_topic(s.topics.get_topic(name)))


def delete_topic(s: MnsServices, req: MnsRequest, name: str) -> Reply:
    """DeleteTopic."""
    s.topics.delete_topic(name)
    return Reply(204)


def list_topics(s: MnsServices, req: MnsRequest) -> Reply:
    """ListTopic."""
    prefix, limit, marker, meta = _listing(req)
    infos, nxt = s.topics.list_topics(prefix, limit, marker)
    items = [(_url(req.base_url, "topics", t.name), t if meta else None) for t in infos]
    return Reply(200, wire.render_topic_list(items, nxt))


def publish(s: MnsServices, req: MnsRequest, topic: str) -> Reply:
    """PublishMessage."""
    result: SendResult = s.topics.publish(topic, wire.parse_message(req.body))
    return Reply(201, wire.render_send_result(result))


def put_subscription(s: MnsServices, req: MnsRequest, topic: str, name: str) -> Reply:
    """Subscribe or SetSubscriptionAttributes (``?metaoverride=true``)."""
    attrs = wire.parse_subscription(_body_or_empty(req, "Subscription"))
    if (req.q("metaoverride") or "").lower() == "true":
        s.topics.set_subscription_attributes(topic, name, attrs)
        return Reply(204)
    created = s.topics.subscribe(topic, name, attrs)
    location = _url(req.base_url, "topics", topic, "subscriptions", name)
    return Reply(201 if created else 204, headers={"Location": location})


def get_subscription(s: MnsServices, req: MnsRequest, topic: str, name: str) -> Reply:
    """GetSubscriptionAttributes."""
    return Reply(200, wire.render_subscription(s.topics.get_subscription(topic, name)))


def delete_subscription(s: MnsServices, req: MnsRequest, topic: str, name: str) -> Reply:
    """Unsubscribe."""
    s.topics.unsubscribe(topic, name)
    return Reply(204)


def list_subscriptions(s: MnsServices, req: MnsRequest, topic: str) -> Reply:
    """ListSubscriptionByTopic."""
    prefix, limit, marker, _ = _listing(req)
    infos, nxt = s.topics.list_subscriptions(topic, prefix, limit, marker)
    urls = [_url(req.base_url, "topics", topic, "subscriptions", i.subscription_name) for i in infos]
    return Reply(200, wire.render_subscription_list(urls, nxt))


# --- account ------------------------------------------------------------------------------------------


def get_account(s: MnsServices, req: MnsRequest) -> Reply:
    """GetAccountAttributes: tidegate keeps no logging bucket."""
    return Reply(200, wire.render_account(None))


def put_account(s: MnsServices, req: MnsRequest) -> Reply:
    """SetAccountAttributes: the body is validated and the logging bucket ignored (no OSS here)."""
    wire.parse_account(req.body)
    return Reply(204)
