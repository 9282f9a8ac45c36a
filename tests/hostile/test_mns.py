"""The MNS protocol (queues, messages, topics) under generated and known-bad inputs, signed as the SDK signs."""

from __future__ import annotations

from xml.sax.saxutils import escape

from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile.harness import Hostile, Protocol, hostile_settings, q
from tests.hostile.values import hostile_text, int_text, utf8_text
from tidegate.mq.wire_xml import parse_xml

NS = "http://mns.aliyuncs.com/doc/v1/"
PATHS = [
    "/",
    "/queues",
    "/queues/hq",
    "/queues/hq/messages",
    "/queues/nope",
    "/queues/nope/messages",
    "/topics",
    "/topics/ht",
    "/topics/ht/messages",
    "/topics/ht/subscriptions",
    "/topics/ht/subscriptions/sub",
]
# Waits 1-30 on an empty queue would really wait: keep generated waits invalid or short.
waits = st.sampled_from(["", "0", "1", "-1", "31", "1e20", "abc", "%FF%FE", "1.5", "9" * 40])
QUERY = {
    "numOfMessages": int_text,
    "waitseconds": waits,
    "peekonly": st.sampled_from(["true", "false", "", "1"]),
    "ReceiptHandle": hostile_text,
    "VisibilityTimeout": int_text,
    "metaoverride": st.sampled_from(["true", "false", "x"]),
    "accountmeta": st.just("true"),
}
# What a client library can send at all: printable ASCII without surrounding blanks.
header_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30).map(str.strip)
HEADERS = {
    "x-mns-ret-number": st.one_of(int_text, header_text),
    "x-mns-marker": header_text,
    "x-mns-prefix": header_text,
    "x-mns-with-meta": st.sampled_from(["true", "false", "x"]),
}


def xml(root: str, fields: dict[str, str]) -> bytes:
    """An MNS request document; values are escaped as XML but control characters are left in."""
    inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{NS}">{inner}</{root}>'.encode(errors="replace")


bodies = st.one_of(
    st.just(b""),
    st.binary(max_size=200),
    st.builds(
        xml,
        st.sampled_from(["Message", "Queue", "Topic", "Subscription", "Messages", "ReceiptHandles", "Account"]),
        st.dictionaries(
            st.sampled_from(
                [
                    "MessageBody",
                    "DelaySeconds",
                    "Priority",
                    "VisibilityTimeout",
                    "MaximumMessageSize",
                    "MessageRetentionPeriod",
                    "PollingWaitSeconds",
                    "LoggingEnabled",
                    "Endpoint",
                    "NotifyStrategy",
                    "NotifyContentFormat",
                    "FilterTag",
                    "MessageTag",
                    "ReceiptHandle",
                ]
            ),
            st.one_of(int_text, hostile_text, utf8_text),
            max_size=4,
        ),
    ),
    st.sampled_from(
        [
            b"<Message><MessageBody>" + b"<a>" * 2000 + b"</MessageBody></Message>",
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b"<Message><MessageBody>&b;</MessageBody></Message>",
            b"<Message><MessageBody>&#1;</MessageBody></Message>",
            b"<Message><MessageBody>\xff\xfe</MessageBody></Message>",
        ]
    ),
)


def prepare(h: Hostile) -> None:
    """A queue ``hq`` with a few messages and a topic ``ht``."""
    assert h.mns("PUT", "/queues/hq", body=xml("Queue", {"VisibilityTimeout": "30"})).status_code in (201, 204)
    assert h.mns("PUT", "/topics/ht", body=xml("Topic", {})).status_code in (201, 204)
    for i in range(3):
        assert h.mns("POST", "/queues/hq/messages", body=xml("Message", {"MessageBody": f"m{i}"})).status_code == 201


def sweep(h: Hostile, what: object) -> None:
    """Whatever the request left in ``hq`` can still be peeked and received (never a 500)."""
    for query in ("peekonly=true&numOfMessages=16", "numOfMessages=16&waitseconds=0"):
        r = h.mns("GET", "/queues/hq/messages", query=query)
        h.check(r, Protocol.MNS, ("sweep", query, what))


@hostile_settings(100)
@given(
    method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "PATCH"]),
    path=st.one_of(st.sampled_from(PATHS), hostile_text.map(lambda n: "/queues/" + q(n))),
    query=st.dictionaries(st.sampled_from(sorted(QUERY)), st.just(None), max_size=3).flatmap(
        lambda keys: st.fixed_dictionaries({k: QUERY[k] for k in keys})
    ),
    headers=st.dictionaries(st.sampled_from(sorted(HEADERS)), st.just(None), max_size=2).flatmap(
        lambda keys: st.fixed_dictionaries({k: HEADERS[k] for k in keys})
    ),
    body=bodies,
)
@example(method="GET", path="/queues/hq/messages", query={"waitseconds": "-1"}, headers={}, body=b"")
@example(method="GET", path="/queues/hq/messages", query={"waitseconds": "%FF%FE"}, headers={}, body=b"")
@example(method="GET", path="/queues/hq/messages", query={"numOfMessages": "0"}, headers={}, body=b"")
@example(method="GET", path="/queues", query={}, headers={"x-mns-ret-number": "99999999999999999999"}, body=b"")
@example(
    method="PUT",
    path="/topics/ht/subscriptions/sub",
    query={},
    headers={},
    body=xml("Subscription", {"Endpoint": "http://"}),
)
def test_any_resource_query_headers_body(
    hostile: Hostile, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
) -> None:
    if not hostile.prepared:
        prepare(hostile)
        hostile.prepared = True
    qs = "&".join(f"{k}={v if k == 'waitseconds' else q(v)}" for k, v in query.items())
    r = hostile.mns(method, path, query=qs, body=body, headers=headers)
    hostile.check(r, Protocol.MNS, (method, path, qs, headers, body[:200]))
    sweep(hostile, (method, path, qs))


@hostile_settings(80)
@given(text=utf8_text, delay=st.one_of(st.none(), int_text), priority=st.one_of(st.none(), int_text))
@example(text="bad\x01", delay=None, priority=None)
@example(text="x" * 65537, delay=None, priority=None)
@example(text="é" * 65536, delay=None, priority=None)
@example(text="ok", delay="-1", priority="17")
def test_send_message_then_receive(hostile: Hostile, text: str, delay: str | None, priority: str | None) -> None:
    if not hostile.prepared:
        prepare(hostile)
        hostile.prepared = True
    fields = {"MessageBody": text}
    if delay is not None:
        fields["DelaySeconds"] = delay
    if priority is not None:
        fields["Priority"] = priority
    r = hostile.mns("POST", "/queues/hq/messages", body=xml("Message", fields))
    hostile.check(r, Protocol.MNS, fields)
    if r.status_code == 201 and delay is None:
        got = hostile.mns("GET", "/queues/hq/messages", query="numOfMessages=16&waitseconds=0")
        hostile.check(got, Protocol.MNS, fields)
        received = [m.child("MessageBody") for m in parse_xml(got.content).all("Message")]
        assert text in [b.text for b in received if b is not None], "an accepted message was not received as sent"
        for m in parse_xml(got.content).all("Message"):
            handle = m.child("ReceiptHandle")
            assert handle is not None
            d = hostile.mns("DELETE", "/queues/hq/messages", query=f"ReceiptHandle={q(handle.text)}")
            hostile.check(d, Protocol.MNS, "delete")
    sweep(hostile, fields)
