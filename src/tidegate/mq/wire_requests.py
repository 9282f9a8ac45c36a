"""MNS request bodies (docs/protocols.md): typed dataclasses, parsers (server side) and encoders (client side: CLI).

Parsers validate element types and the attribute ranges and raise :class:`MalformedXML` (not XML, wrong
root) or :class:`InvalidXmlArgument` (a value; the message names the element). Unknown elements are
ignored, as the service does for forward compatibility. Encoders emit what the SDKs emit: only the
elements that are set, in the captured order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tidegate.mq.wire_xml import NS, Element, InvalidXmlArgument, MalformedXML, check_xml_text, el, parse_xml

_XML_REQ_DECL = '<?xml version="1.0" encoding="utf-8"?>'

#: The largest message body (the default MaximumMessageSize of queues and topics, and its upper bound).
MAX_MESSAGE_SIZE = 65536
#: The smallest MaximumMessageSize a queue or topic may be given.
MIN_MESSAGE_SIZE = 1024

#: Accepted ranges of numeric attributes (docs/protocols.md). MessageRetentionPeriod accepts the older docs' upper
#: bound (15 days) so that programs written against them keep working.
QUEUE_RANGES: dict[str, tuple[int, int]] = {
    "VisibilityTimeout": (1, 43200),
    "MaximumMessageSize": (MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE),
    "MessageRetentionPeriod": (60, 1296000),
    "DelaySeconds": (0, 604800),
    "PollingWaitSeconds": (0, 30),
}
TOPIC_RANGES: dict[str, tuple[int, int]] = {"MaximumMessageSize": (MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE)}
MESSAGE_RANGES: dict[str, tuple[int, int]] = {"DelaySeconds": (0, 604800), "Priority": (1, 16)}
MAX_BATCH = 16
MAX_TAG_LEN = 16
NOTIFY_STRATEGIES = ("BACKOFF_RETRY", "EXPONENTIAL_DECAY_RETRY")
NOTIFY_FORMATS = ("XML", "JSON", "SIMPLIFIED")
PROPERTY_TYPES = ("STRING", "NUMBER", "BOOLEAN", "BINARY")

_INT = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueAttributes:
    """A ``<Queue>`` request: only the attributes the client sent are set."""

    visibility_timeout: int | None = None
    maximum_message_size: int | None = None
    message_retention_period: int | None = None
    delay_seconds: int | None = None
    polling_wait_seconds: int | None = None
    logging_enabled: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicAttributes:
    """A ``<Topic>`` request."""

    maximum_message_size: int | None = None
    logging_enabled: bool | None = None


@dataclass(frozen=True, slots=True)
class MessageProperty:
    """One ``PropertyValue`` / ``SystemPropertyValue`` (aliyun-mns-sdk ≥ 1.2). BINARY values stay base64."""

    name: str
    value: str
    type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageRequest:
    """A ``<Message>`` sent to a queue (SendMessage) or published to a topic (PublishMessage)."""

    body: str
    delay_seconds: int | None = None
    priority: int | None = None
    tag: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    message_group_id: str | None = None
    user_properties: tuple[MessageProperty, ...] = ()
    system_properties: tuple[MessageProperty, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SubscriptionAttributes:
    """A ``<Subscription>`` request (set_attributes sends only ``NotifyStrategy``)."""

    endpoint: str | None = None
    notify_strategy: str | None = None
    notify_content_format: str | None = None
    filter_tag: str | None = None


def check_message_text(m: MessageRequest) -> MessageRequest:
    """Return ``m`` if XML 1.0 can carry every text of it that a receive, peek or push renders.

    Checked: the body, the tag, the group id, every attribute and every user/system property (name, value
    and type). Base64 bodies (what some SDK clients send) are XML-safe by construction: the service stores
    and returns the text it was given, it never decodes it.

    Raises:
        XmlUnsafeText: a text holds a character XML 1.0 cannot carry (named with its position).
    """
    check_xml_text("message body", m.body)
    if m.tag is not None:
        check_xml_text("message tag", m.tag)
    if m.message_group_id is not None:
        check_xml_text("message group id", m.message_group_id)
    for name, value in m.attributes.items():
        check_xml_text("message attribute name", name)
        check_xml_text(f"message attribute {name}", value)
    for p in (*m.user_properties, *m.system_properties):
        check_xml_text("message property name", p.name)
        check_xml_text(f"message property {p.name}", p.value)
        check_xml_text(f"message property {p.name}'s type", p.type)
    return m


# --- parsing helpers ----------------------------------------------------------------------------------


def _root(data: bytes | str, tag: str) -> Element:
    root = parse_xml(data)
    if root.tag != tag:
        raise MalformedXML(f"The root element must be {tag}, not {root.tag}.")
    return root


def _leaf(parent: Element, tag: str) -> Element | None:
    c = parent.child(tag)
    if c is not None and c.children:
        raise InvalidXmlArgument(f"The element {tag} must hold text, not elements.")
    return c


def _str(parent: Element, tag: str, *, max_len: int | None = None, allow_empty: bool = False) -> str | None:
    c = _leaf(parent, tag)
    if c is None:
        return None
    if not c.text and not allow_empty:
        raise InvalidXmlArgument(f"The element {tag} must not be empty.")
    if max_len is not None and len(c.text) > max_len:
        raise InvalidXmlArgument(f"The element {tag} is longer than {max_len} characters.")
    return c.text


def _int(parent: Element, tag: str, ranges: Mapping[str, tuple[int, int]]) -> int | None:
    c = _leaf(parent, tag)
    if c is None:
        return None
    text = c.text.strip()
    if not _INT.fullmatch(text):
        raise InvalidXmlArgument(f"The value of {tag} must be an integer, not {text[:32]!r}.")
    value = int(text)
    low, high = ranges[tag]
    if not low <= value <= high:
        raise InvalidXmlArgument(f"The value of {tag} should between {low} and {high}.")
    return value


def _bool(parent: Element, tag: str) -> bool | None:
    c = _leaf(parent, tag)
    if c is None:
        return None
    text = c.text.strip().lower()
    if text not in ("true", "false"):
        raise InvalidXmlArgument(f"The value of {tag} must be True or False.")
    return text == "true"


def _choice(parent: Element, tag: str, allowed: Sequence[str]) -> str | None:
    value = _str(parent, tag)
    if value is not None and value not in allowed:
        raise InvalidXmlArgument(f"The value of {tag} must be one of {', '.join(allowed)}.")
    return value


def _properties(parent: Element, tag: str, item: str) -> tuple[MessageProperty, ...]:
    c = parent.child(tag)
    if c is None:
        return ()
    out = []
    for p in c.all(item):
        name, value = _str(p, "Name", max_len=256), _str(p, "Value", allow_empty=True)
        ptype = _choice(p, "Type", PROPERTY_TYPES)
        if name is None or value is None or ptype is None:
            raise InvalidXmlArgument(f"Each {item} in {tag} needs Name, Value and Type.")
        out.append(MessageProperty(name, value, ptype))
    return tuple(out)


# --- parsers ------------------------------------------------------------------------------------------


def parse_queue_attributes(data: bytes | str) -> QueueAttributes:
    """Parse a ``<Queue>`` body (CreateQueue, SetQueueAttributes). An empty ``<Queue/>`` is valid."""
    r = _root(data, "Queue")
    return QueueAttributes(
        visibility_timeout=_int(r, "VisibilityTimeout", QUEUE_RANGES),
        maximum_message_size=_int(r, "MaximumMessageSize", QUEUE_RANGES),
        message_retention_period=_int(r, "MessageRetentionPeriod", QUEUE_RANGES),
        delay_seconds=_int(r, "DelaySeconds", QUEUE_RANGES),
        polling_wait_seconds=_int(r, "PollingWaitSeconds", QUEUE_RANGES),
        logging_enabled=_bool(r, "LoggingEnabled"),
    )


def parse_topic_attributes(data: bytes | str) -> TopicAttributes:
    """Parse a ``<Topic>`` body (CreateTopic, SetTopicAttributes)."""
    r = _root(data, "Topic")
    return TopicAttributes(
        maximum_message_size=_int(r, "MaximumMessageSize", TOPIC_RANGES),
        logging_enabled=_bool(r, "LoggingEnabled"),
    )


def _message(m: Element) -> MessageRequest:
    body = _str(m, "MessageBody")
    if body is None:
        raise InvalidXmlArgument("The element MessageBody is missing.")
    attrs = m.child("MessageAttributes")
    attributes: dict[str, str] = {}
    for a in attrs.children if attrs is not None else []:
        if a.children or a.tag in attributes:
            raise InvalidXmlArgument(f"The message attribute {a.tag} is invalid.")
        attributes[a.tag] = a.text
    return MessageRequest(
        body=body,
        delay_seconds=_int(m, "DelaySeconds", MESSAGE_RANGES),
        priority=_int(m, "Priority", MESSAGE_RANGES),
        tag=_str(m, "MessageTag", max_len=MAX_TAG_LEN),
        attributes=attributes,
        message_group_id=_str(m, "MessageGroupId", max_len=128),
        user_properties=_properties(m, "UserProperties", "PropertyValue"),
        system_properties=_properties(m, "SystemProperties", "SystemPropertyValue"),
    )


def parse_message(data: bytes | str) -> MessageRequest:
    """Parse a single ``<Message>`` body (SendMessage, PublishMessage)."""
    return _message(_root(data, "Message"))


def parse_messages(data: bytes | str) -> list[MessageRequest]:
    """Parse a ``<Messages>`` body (BatchSendMessage): 1 to 16 messages."""
    r = _root(data, "Messages")
    items = r.all("Message")
    if not 1 <= len(items) <= MAX_BATCH or len(items) != len(r.children):
        raise InvalidXmlArgument(f"Messages must hold 1 to {MAX_BATCH} Message elements and nothing else.")
    return [_message(m) for m in items]


def parse_send_body(data: bytes | str) -> MessageRequest | list[MessageRequest]:
    """Parse a ``POST /queues/{q}/messages`` body: one ``<Message>`` or a ``<Messages>`` batch."""
    r = parse_xml(data)
    if r.tag == "Message":
        return _message(r)
    if r.tag == "Messages":
        return parse_messages(data)
    raise MalformedXML(f"The root element must be Message or Messages, not {r.tag}.")


def parse_receipt_handles(data: bytes | str) -> list[str]:
    """Parse a ``<ReceiptHandles>`` body (BatchDeleteMessage): 1 to 16 non-empty handles."""
    r = _root(data, "ReceiptHandles")
    items = r.all("ReceiptHandle")
    if not 1 <= len(items) <= MAX_BATCH or len(items) != len(r.children):
        raise InvalidXmlArgument(f"ReceiptHandles must hold 1 to {MAX_BATCH} ReceiptHandle elements.")
    handles = []
    for h in items:
        if h.children or not h.text.strip():
            raise InvalidXmlArgument("The element ReceiptHandle must hold a receipt handle.")
        handles.append(h.text.strip())
    return handles


def parse_subscription(data: bytes | str) -> SubscriptionAttributes:
    """Parse a ``<Subscription>`` body (Subscribe, SetSubscriptionAttributes)."""
    r = _root(data, "Subscription")
    return SubscriptionAttributes(
        endpoint=_str(r, "Endpoint", max_len=2048),
        notify_strategy=_choice(r, "NotifyStrategy", NOTIFY_STRATEGIES),
        notify_content_format=_choice(r, "NotifyContentFormat", NOTIFY_FORMATS),
        filter_tag=_str(r, "FilterTag", max_len=MAX_TAG_LEN),
    )


def parse_account(data: bytes | str) -> str | None:
    """Parse an ``<Account>`` body (SetAccountAttributes); return its ``LoggingBucket`` if given."""
    return _str(_root(data, "Account"), "LoggingBucket", max_len=256, allow_empty=True)


# --- encoders (client side) ---------------------------------------------------------------------------


def _doc(root: str, inner: str) -> bytes:
    return f'{_XML_REQ_DECL}<{root} xmlns="{NS}">{inner}</{root}>'.encode()


def _opt(tag: str, value: int | str | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return el(tag, "True" if value else "False")
    return el(tag, value)


def encode_queue_attributes(a: QueueAttributes) -> bytes:
    """Render a ``<Queue>`` request body."""
    return _doc(
        "Queue",
        _opt("VisibilityTimeout", a.visibility_timeout)
        + _opt("MaximumMessageSize", a.maximum_message_size)
        + _opt("MessageRetentionPeriod", a.message_retention_period)
        + _opt("DelaySeconds", a.delay_seconds)
        + _opt("PollingWaitSeconds", a.polling_wait_seconds)
        + _opt("LoggingEnabled", a.logging_enabled),
    )


def encode_topic_attributes(a: TopicAttributes) -> bytes:
    """Render a ``<Topic>`` request body."""
    inner = _opt("MaximumMessageSize", a.maximum_message_size) + _opt("LoggingEnabled", a.logging_enabled)
    return _doc("Topic", inner)


def _props(tag: str, item: str, props: Sequence[MessageProperty]) -> str:
    if not props:
        return ""
    inner = "".join(f"<{item}>{el('Name', p.name)}{el('Value', p.value)}{el('Type', p.type)}</{item}>" for p in props)
    return f"<{tag}>{inner}</{tag}>"


def _message_inner(m: MessageRequest) -> str:
    attrs = "".join(el(k, v) for k, v in m.attributes.items())
    return (
        el("MessageBody", m.body)
        + _opt("DelaySeconds", m.delay_seconds)
        + _opt("Priority", m.priority)
        + _opt("MessageTag", m.tag)
        + (f"<MessageAttributes>{attrs}</MessageAttributes>" if attrs else "")
        + _opt("MessageGroupId", m.message_group_id)
        + _props("UserProperties", "PropertyValue", m.user_properties)
        + _props("SystemProperties", "SystemPropertyValue", m.system_properties)
    )


def encode_message(m: MessageRequest) -> bytes:
    """Render a ``<Message>`` request body (SendMessage / PublishMessage)."""
    return _doc("Message", _message_inner(m))


def encode_messages(ms: Sequence[MessageRequest]) -> bytes:
    """Render a ``<Messages>`` request body (BatchSendMessage)."""
    return _doc("Messages", "".join(f"<Message>{_message_inner(m)}</Message>" for m in ms))


def encode_receipt_handles(handles: Sequence[str]) -> bytes:
    """Render a ``<ReceiptHandles>`` request body (BatchDeleteMessage)."""
    return _doc("ReceiptHandles", "".join(el("ReceiptHandle", h) for h in handles))


def encode_subscription(s: SubscriptionAttributes) -> bytes:
    """Render a ``<Subscription>`` request body."""
    return _doc(
        "Subscription",
        _opt("NotifyStrategy", s.notify_strategy)
        + _opt("Endpoint", s.endpoint)
        + _opt("FilterTag", s.filter_tag)
        + _opt("NotifyContentFormat", s.notify_content_format),
    )


def encode_account(logging_bucket: str) -> bytes:
    """Render an ``<Account>`` request body."""
    return _doc("Account", el("LoggingBucket", logging_bucket))
