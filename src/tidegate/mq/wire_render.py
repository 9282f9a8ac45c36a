"""MNS response bodies and topic notifications (docs/protocols.md).

Every renderer emits the elements the SDK decoders require (``mns/mns_xml_handler.py`` of aliyun-mns
1.1.5 and aliyun-mns-sdk 1.3.0) and never an empty element: the list decoders call ``.text.strip()`` on
every child and the batch decoders drop empty children, both ending in ``RespDataDamaged``. Times are
epoch milliseconds for messages and epoch seconds for queue/topic/subscription create/modify times.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from tidegate.mq.wire_requests import MessageProperty
from tidegate.mq.wire_xml import document, el, esc, xml_printable


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueInfo:
    """What GetQueueAttributes returns (all 12 elements the SDK requires)."""

    name: str
    create_time: int
    last_modify_time: int
    visibility_timeout: int
    maximum_message_size: int
    message_retention_period: int
    delay_seconds: int
    polling_wait_seconds: int
    active_messages: int
    inactive_messages: int
    delay_messages: int
    logging_enabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageView:
    """A message as ReceiveMessage / PeekMessage return it.

    ``receipt_handle`` and ``next_visible_time`` are set for receives and left None for peeks.
    ``first_dequeue_time`` is 0 while the message was never received (peek of a fresh message).
    """

    message_id: str
    body: str
    body_md5: str
    enqueue_time: int
    first_dequeue_time: int
    dequeue_count: int
    priority: int
    receipt_handle: str | None = None
    next_visible_time: int | None = None
    message_group_id: str | None = None
    user_properties: tuple[MessageProperty, ...] = ()
    system_properties: tuple[MessageProperty, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResult:
    """One accepted message: SendMessage / PublishMessage / a BatchSendMessage entry."""

    message_id: str
    body_md5: str
    receipt_handle: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryError:
    """One failed entry of a batch: ``receipt_handle`` is set for BatchDeleteMessage entries."""

    code: str
    message: str
    receipt_handle: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicInfo:
    """What GetTopicAttributes returns (all 7 elements the SDK requires)."""

    name: str
    create_time: int
    last_modify_time: int
    maximum_message_size: int
    message_retention_period: int
    message_count: int
    logging_enabled: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionInfo:
    """What GetSubscriptionAttributes returns."""

    topic_owner: str
    topic_name: str
    subscription_name: str
    endpoint: str
    notify_strategy: str
    notify_content_format: str
    create_time: int
    last_modify_time: int
    filter_tag: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """One message pushed by a subscription; ``message`` is the published body verbatim."""

    topic_owner: str
    topic_name: str
    subscriber: str
    subscription_name: str
    message_id: str
    message: str
    message_md5: str
    publish_time: int
    message_tag: str | None = None


def _opt(tag: str, value: str | int | None) -> str:
    # Omitted rather than empty: an empty element breaks the SDK decoders (module docstring).
    return "" if value is None or value == "" else el(tag, value)


def _bool(value: bool) -> str:
    return "True" if value else "False"


# --- queues and messages ------------------------------------------------------------------------------


def render_queue(q: QueueInfo) -> bytes:
    """Render the ``<Queue>`` of GetQueueAttributes."""
    return document("Queue", _queue_inner(q))


def _queue_inner(q: QueueInfo) -> str:
    return (
        el("QueueName", q.name)
        + el("CreateTime", q.create_time)
        + el("LastModifyTime", q.last_modify_time)
        + el("VisibilityTimeout", q.visibility_timeout)
        + el("MaximumMessageSize", q.maximum_message_size)
        + el("MessageRetentionPeriod", q.message_retention_period)
        + el("DelaySeconds", q.delay_seconds)
        + el("PollingWaitSeconds", q.polling_wait_seconds)
        + el("ActiveMessages", q.active_messages)
        + el("InactiveMessages", q.inactive_messages)
        + el("DelayMessages", q.delay_messages)
        + el("LoggingEnabled", _bool(q.logging_enabled))
    )


def _props(tag: str, item: str, props: Sequence[MessageProperty]) -> str:
    if not props:
        return ""
    inner = "".join(f"<{item}>{el('Name', p.name)}{_opt('Value', p.value)}{el('Type', p.type)}</{item}>" for p in props)
    return f"<{tag}>{inner}</{tag}>"


def _message_inner(m: MessageView, with_properties: bool) -> str:
    props = (
        _props("UserProperties", "PropertyValue", m.user_properties)
        + _props("SystemProperties", "SystemPropertyValue", m.system_properties)
        if with_properties
        else ""
    )
    return (
        el("MessageId", m.message_id)
        + el("MessageBodyMD5", m.body_md5)
        + el("MessageBody", m.body)
        + el("EnqueueTime", m.enqueue_time)
        + el("FirstDequeueTime", m.first_dequeue_time)
        + el("DequeueCount", m.dequeue_count)
        + el("Priority", m.priority)
        + _opt("ReceiptHandle", m.receipt_handle)
        + _opt("NextVisibleTime", m.next_visible_time)
        + _opt("MessageGroupId", m.message_group_id)
        + props
    )


_OLD_PYTHON_SDK = re.compile(r"aliyun-sdk-python/1\.[01]\.")


def client_reads_properties(user_agent: str | None) -> bool:
    """Tell whether a client can decode ``UserProperties``/``SystemProperties`` in a received message.

    aliyun-mns 1.1.x crashes on any nested element of ``<Message>`` (its ``xml_to_dic`` reads
    ``firstChild.data``), so messages sent with properties by a newer SDK must reach it without them.
    """
    return not (user_agent and _OLD_PYTHON_SDK.search(user_agent))


def render_message(m: MessageView, with_properties: bool = True) -> bytes:
    """Render one received or peeked ``<Message>`` (ReceiveMessage, PeekMessage).

    Args:
        m: the message.
        with_properties: include user/system properties; pass :func:`client_reads_properties` of the
            request's User-Agent.
    """
    return document("Message", _message_inner(m, with_properties))


def render_messages(ms: Sequence[MessageView], with_properties: bool = True) -> bytes:
    """Render ``<Messages>`` (BatchReceiveMessage, BatchPeekMessage); empty results are a 404 instead."""
    return document("Messages", "".join(f"<Message>{_message_inner(m, with_properties)}</Message>" for m in ms))


def render_send_result(r: SendResult) -> bytes:
    """Render the ``<Message>`` of SendMessage / PublishMessage."""
    inner = el("MessageId", r.message_id) + el("MessageBodyMD5", r.body_md5)
    return document("Message", inner + _opt("ReceiptHandle", r.receipt_handle))


def render_batch_send(results: Sequence[SendResult | EntryError]) -> bytes:
    """Render BatchSendMessage's ``<Messages>``: success entries, or (partial failure) error entries.

    Each entry carries exactly ``{MessageId, MessageBodyMD5}`` or ``{ErrorCode, ErrorMessage}``, the two
    key sets ``BatchSendMessageDecoder.decodeError`` accepts.
    """
    parts = []
    for r in results:
        if isinstance(r, EntryError):
            inner = el("ErrorCode", r.code) + el("ErrorMessage", r.message or r.code)
        else:
            inner = el("MessageId", r.message_id) + el("MessageBodyMD5", r.body_md5)
        parts.append(f"<Message>{inner}</Message>")
    return document("Messages", "".join(parts))


def render_batch_delete_errors(errors: Sequence[EntryError]) -> bytes:
    """Render BatchDeleteMessage's partial-failure ``<Errors>`` (exactly three children per entry)."""
    parts = [
        f"<Error>{el('ErrorCode', e.code)}{el('ErrorMessage', e.message or e.code)}"
        f"{el('ReceiptHandle', e.receipt_handle or '-')}</Error>"
        for e in errors
    ]
    return document("Errors", "".join(parts))


def render_change_visibility(receipt_handle: str, next_visible_time: int) -> bytes:
    """Render ChangeMessageVisibility's ``<ChangeVisibility>``."""
    return document("ChangeVisibility", el("ReceiptHandle", receipt_handle) + el("NextVisibleTime", next_visible_time))


# --- topics, subscriptions, account -------------------------------------------------------------------


def _topic_inner(t: TopicInfo) -> str:
    return (
        el("TopicName", t.name)
        + el("CreateTime", t.create_time)
        + el("LastModifyTime", t.last_modify_time)
        + el("MaximumMessageSize", t.maximum_message_size)
        + el("MessageRetentionPeriod", t.message_retention_period)
        + el("MessageCount", t.message_count)
        + el("LoggingEnabled", _bool(t.logging_enabled))
    )


def render_topic(t: TopicInfo) -> bytes:
    """Render the ``<Topic>`` of GetTopicAttributes."""
    return document("Topic", _topic_inner(t))


def render_subscription(s: SubscriptionInfo) -> bytes:
    """Render the ``<Subscription>`` of GetSubscriptionAttributes."""
    return document(
        "Subscription",
        el("TopicOwner", s.topic_owner)
        + el("TopicName", s.topic_name)
        + el("SubscriptionName", s.subscription_name)
        + el("Endpoint", s.endpoint)
        + el("NotifyStrategy", s.notify_strategy)
        + el("NotifyContentFormat", s.notify_content_format)
        + _opt("FilterTag", s.filter_tag)
        + el("CreateTime", s.create_time)
        + el("LastModifyTime", s.last_modify_time),
    )


def render_account(logging_bucket: str | None) -> bytes:
    """Render GetAccountAttributes' ``<Account>``.

    ``LoggingBucket`` is required by the decoder, and its xml_to_dic path tolerates an empty element.
    """
    return document("Account", f"<LoggingBucket>{esc(logging_bucket or '')}</LoggingBucket>")


def render_queue_list(items: Sequence[tuple[str, QueueInfo | None]], next_marker: str | None = None) -> bytes:
    """Render ListQueue's ``<Queues>``: ``(QueueURL, info or None)`` per queue; info adds the meta."""
    inner = "".join(f"<Queue>{el('QueueURL', url)}{_queue_inner(q) if q else ''}</Queue>" for url, q in items)
    return document("Queues", inner + _opt("NextMarker", next_marker))


def render_topic_list(items: Sequence[tuple[str, TopicInfo | None]], next_marker: str | None = None) -> bytes:
    """Render ListTopic's ``<Topics>``: ``(TopicURL, info or None)`` per topic."""
    inner = "".join(f"<Topic>{el('TopicURL', url)}{_topic_inner(t) if t else ''}</Topic>" for url, t in items)
    return document("Topics", inner + _opt("NextMarker", next_marker))


def render_subscription_list(urls: Sequence[str], next_marker: str | None = None) -> bytes:
    """Render ListSubscriptionByTopic's ``<Subscriptions>``."""
    inner = "".join(f"<Subscription>{el('SubscriptionURL', u)}</Subscription>" for u in urls)
    return document("Subscriptions", inner + _opt("NextMarker", next_marker))


def render_error(code: str, message: str, request_id: str, host_id: str) -> bytes:
    """Render the ``<Error>`` body; all four elements are present (the SDK requires them)."""
    # Message may be empty (xml_to_dic accepts it); the other three must not be. A message may echo what the
    # client sent (a name in the path), so what XML cannot carry is written as an escape, never refused.
    msg = el("Message", xml_printable(message)) if message else "<Message></Message>"
    return document("Error", el("Code", code) + msg + el("RequestId", request_id or "-") + el("HostId", host_id or "-"))


# --- notifications ------------------------------------------------------------------------------------

NOTIFY_CONTENT_TYPES = {
    "XML": "text/xml;charset=utf-8",
    "JSON": "application/json",
    "SIMPLIFIED": "text/plain;charset=utf-8",
}


def render_notification(n: Notification, fmt: str) -> tuple[bytes, str]:
    """Render a push body in ``XML``, ``JSON`` or ``SIMPLIFIED`` form; return ``(body, content type)``.

    ``MessageTag`` appears only when the message has one (XML and JSON alike). JSON's ``PublishTime`` is a
    string, as in the service's documentation.

    Raises:
        ValueError: unknown format.
    """
    if fmt == "SIMPLIFIED":
        return n.message.encode("utf-8"), NOTIFY_CONTENT_TYPES[fmt]
    if fmt == "JSON":
        doc: dict[str, str] = {
            "TopicOwner": n.topic_owner,
            "TopicName": n.topic_name,
            "Subscriber": n.subscriber,
            "SubscriptionName": n.subscription_name,
            "MessageId": n.message_id,
            "Message": n.message,
            "MessageMD5": n.message_md5,
        }
        if n.message_tag:
            doc["MessageTag"] = n.message_tag
        doc["PublishTime"] = str(n.publish_time)
        return json.dumps(doc, ensure_ascii=False).encode("utf-8"), NOTIFY_CONTENT_TYPES[fmt]
    if fmt == "XML":
        inner = (
            el("TopicOwner", n.topic_owner)
            + el("TopicName", n.topic_name)
            + el("Subscriber", n.subscriber)
            + el("SubscriptionName", n.subscription_name)
            + el("MessageId", n.message_id)
            + el("Message", n.message)
            + el("MessageMD5", n.message_md5)
            + _opt("MessageTag", n.message_tag)
            + el("PublishTime", n.publish_time)
        )
        return document("Notification", inner), NOTIFY_CONTENT_TYPES[fmt]
    raise ValueError(f"unknown notify content format {fmt!r}")
