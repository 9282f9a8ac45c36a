"""The MNS XML codec: round trips, captured bodies, hostile input, and the real SDK decoders."""

from __future__ import annotations

import json
import subprocess
import xml.dom.minidom
from dataclasses import replace

import pytest

from tests.auth.captures import load_captures
from tests.sdkenv import ensure_env, mns115_env, mns130_env  # noqa: F401 - fixtures
from tidegate.errors import QueueError
from tidegate.mq import wire as w
from tidegate.mq.wire_xml import MAX_XML_BYTES

MSG = w.MessageView(
    message_id="5F290C926D472878-2-14D9529A8FA-200000001",
    body="aGVsbG8gbW5z",
    body_md5=w.body_md5("aGVsbG8gbW5z"),
    enqueue_time=1795374902920,
    first_dequeue_time=1795374906920,
    dequeue_count=1,
    priority=8,
    receipt_handle="1-ODU4OTkzNDU5My0xNDMyNzI3ODI3LTItOA",
    next_visible_time=1795374937920,
)
RAW = w.MessageView(
    message_id="M2",
    body='raw <body> & "q" 中文\r\nline',
    body_md5=w.body_md5('raw <body> & "q" 中文\r\nline'),
    enqueue_time=1,
    first_dequeue_time=2,
    dequeue_count=3,
    priority=16,
    receipt_handle="rh-2",
    next_visible_time=4,
    message_group_id="g1",
    user_properties=(w.MessageProperty("k", "v", "STRING"), w.MessageProperty("n", "42", "NUMBER")),
    system_properties=(w.MessageProperty("traceparent", "00-abc", "STRING"),),
)
QUEUE = w.QueueInfo(
    name="q1",
    create_time=1795374902,
    last_modify_time=1795374903,
    visibility_timeout=30,
    maximum_message_size=65536,
    message_retention_period=345600,
    delay_seconds=0,
    polling_wait_seconds=0,
    active_messages=5,
    inactive_messages=1,
    delay_messages=2,
    logging_enabled=False,
)
TOPIC = w.TopicInfo(
    name="t1",
    create_time=1,
    last_modify_time=2,
    maximum_message_size=65536,
    message_retention_period=86400,
    message_count=3,
    logging_enabled=True,
)
SUB = w.SubscriptionInfo(
    topic_owner="1234567890123456",
    topic_name="t1",
    subscription_name="s1",
    endpoint="http://127.0.0.1:9999/notify",
    notify_strategy="BACKOFF_RETRY",
    notify_content_format="JSON",
    create_time=1,
    last_modify_time=2,
    filter_tag="tag1",
)
NOTE = w.Notification(
    topic_owner="1234567890123456",
    topic_name="t1",
    subscriber="1234567890123456",
    subscription_name="s1",
    message_id="M1",
    message="hello <world> & 中文",
    message_md5=w.body_md5("hello <world> & 中文"),
    publish_time=1449556920975,
    message_tag="tag1",
)


def _fields(data: bytes) -> dict[str, str]:
    return {c.tag: c.text for c in w.parse_xml(data).children}


# --- requests -----------------------------------------------------------------------------------------


def test_captured_request_bodies_parse() -> None:
    seen = 0
    for c in load_captures():
        if c.scheme != "MNS" or not c.body:
            continue
        root = w.parse_xml(c.body).tag
        parser = {
            "Queue": w.parse_queue_attributes,
            "Topic": w.parse_topic_attributes,
            "Message": w.parse_message,
            "Messages": w.parse_messages,
            "ReceiptHandles": w.parse_receipt_handles,
            "Subscription": w.parse_subscription,
        }[root]
        parser(c.body)
        seen += 1
    assert seen == 39  # every MNS capture with a body


def test_captured_bodies_values() -> None:
    caps = {c.name: c.body for c in load_captures()}
    q = w.parse_queue_attributes(caps["mns115-CreateQueue-allattrs"])
    assert q == w.QueueAttributes(
        visibility_timeout=60,
        maximum_message_size=10240,
        message_retention_period=3600,
        delay_seconds=5,
        polling_wait_seconds=20,
        logging_enabled=True,
    )
    assert w.parse_queue_attributes(caps["mns130-CreateQueue-defaultmeta"]) == w.QueueAttributes()
    m = w.parse_message(caps["mns130-SendMessage-props-groupid"])
    assert m.body == "cHJvcHMgYm9keQ==" and m.priority == 8 and m.message_group_id == "group-1"
    assert [p.type for p in m.user_properties] == ["STRING", "NUMBER", "BOOLEAN", "BINARY"]
    assert m.system_properties == (w.MessageProperty("traceparent", "00-abc-def-01", "STRING"),)
    pub = w.parse_message(caps["mns115-PublishMessage-tag"])
    assert (pub.body, pub.tag) == ("tagged body <b>", "tag1")
    mail = w.parse_message(caps["mns115-PublishMessage-directmail-attrs"])
    assert json.loads(mail.attributes["DirectMail"])["Subject"] == "subj"
    batch = w.parse_send_body(caps["mns115-BatchSendMessage"])
    assert isinstance(batch, list) and [b.priority for b in batch] == [None, 1, 16]
    assert w.parse_receipt_handles(caps["mns115-BatchDeleteMessage"]) == ["rh-1", "rh-2"]
    s = w.parse_subscription(caps["mns115-Subscribe-http"])
    assert (s.notify_strategy, s.endpoint, s.filter_tag, s.notify_content_format) == (
        "EXPONENTIAL_DECAY_RETRY",
        "http://127.0.0.1:9999/notify",
        "tag1",
        "JSON",
    )
    assert w.parse_topic_attributes(caps["mns115-CreateTopic"]) == w.TopicAttributes()


def test_request_round_trips() -> None:
    q = w.QueueAttributes(visibility_timeout=1, polling_wait_seconds=30, logging_enabled=False)
    assert w.parse_queue_attributes(w.encode_queue_attributes(q)) == q
    t = w.TopicAttributes(maximum_message_size=1024, logging_enabled=True)
    assert w.parse_topic_attributes(w.encode_topic_attributes(t)) == t
    m = w.MessageRequest(
        body="a<b>&c\r\n中",
        delay_seconds=604800,
        priority=1,
        tag="t",
        attributes={"DirectSMS": "{}"},
        message_group_id="g",
        user_properties=(w.MessageProperty("k", "", "STRING"),),
        system_properties=(w.MessageProperty("s", "v", "STRING"),),
    )
    assert w.parse_message(w.encode_message(m)) == m
    assert w.parse_messages(w.encode_messages([m, m])) == [m, m]
    assert w.parse_receipt_handles(w.encode_receipt_handles(["a", "b=="])) == ["a", "b=="]
    s = w.SubscriptionAttributes(endpoint="acs:mns:cn-hangzhou:1:queues/q", notify_strategy="BACKOFF_RETRY")
    assert w.parse_subscription(w.encode_subscription(s)) == s
    assert w.parse_account(w.encode_account("bucket")) == "bucket"


def test_encoder_matches_sdk_bytes() -> None:
    caps = {c.name: c.body for c in load_captures()}
    sent = w.encode_queue_attributes(w.parse_queue_attributes(caps["mns115-CreateQueue-allattrs"]))
    assert sent == caps["mns115-CreateQueue-allattrs"]
    assert w.encode_message(w.parse_message(caps["mns115-SendMessage"])) == caps["mns115-SendMessage"]


@pytest.mark.parametrize(
    ("body", "code", "needle"),
    [
        (b'<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "b">]><Queue>&a;</Queue>', "MalformedXML", "DOCTYPE"),
        (b'<!DOCTYPE q SYSTEM "file:///etc/passwd"><Queue/>', "MalformedXML", "DOCTYPE"),
        (b"<Queue><DelaySeconds>1</DelaySeconds>", "MalformedXML", "well-formed"),
        (b"", "MalformedXML", ""),
        (b"<Topic/>", "MalformedXML", "Queue"),
        (b"<Queue><DelaySeconds>ten</DelaySeconds></Queue>", "InvalidArgument", "DelaySeconds"),
        (b"<Queue><DelaySeconds>-1</DelaySeconds></Queue>", "InvalidArgument", "DelaySeconds"),
        (b"<Queue><VisibilityTimeout>0</VisibilityTimeout></Queue>", "InvalidArgument", "VisibilityTimeout"),
        (
            b"<Queue><PollingWaitSeconds>31</PollingWaitSeconds></Queue>",
            "InvalidArgument",
            "PollingWaitSeconds",
        ),
        (b"<Queue><LoggingEnabled>yes</LoggingEnabled></Queue>", "InvalidArgument", "LoggingEnabled"),
        (b"<Queue><DelaySeconds><x>1</x></DelaySeconds></Queue>", "InvalidArgument", "DelaySeconds"),
        (
            b"<Queue><DelaySeconds>1</DelaySeconds><DelaySeconds>2</DelaySeconds></Queue>",
            "InvalidArgument",
            "twice",
        ),
        (b"<Queue>text<DelaySeconds>1</DelaySeconds></Queue>", "MalformedXML", "mixes"),
        (b"<Queue>" + b"<a>" * 10 + b"</a>" * 10 + b"</Queue>", "MalformedXML", "nested"),
        (b"<Queue>" + b" " * MAX_XML_BYTES + b"</Queue>", "MalformedXML", "larger"),
        ("<Queue>\ufffe</Queue>".encode("utf-8", "surrogatepass"), "MalformedXML", ""),
        (b"<Queue>\xff</Queue>", "MalformedXML", ""),
    ],
)
def test_hostile_queue_bodies(body: bytes, code: str, needle: str) -> None:
    with pytest.raises(QueueError) as ei:
        w.parse_queue_attributes(body)
    assert ei.value.code == code
    assert needle.replace("twice", "more than once") in ei.value.message


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"<Message><Priority>1</Priority></Message>", "MessageBody"),
        (b"<Message><MessageBody></MessageBody></Message>", "MessageBody"),
        (b"<Message><MessageBody>x</MessageBody><Priority>17</Priority></Message>", "Priority"),
        (b"<Message><MessageBody>x</MessageBody><Priority>0</Priority></Message>", "Priority"),
        (
            b"<Message><MessageBody>x</MessageBody><MessageTag>" + b"t" * 17 + b"</MessageTag></Message>",
            "MessageTag",
        ),
        (
            b"<Message><MessageBody>x</MessageBody><DelaySeconds>604801</DelaySeconds></Message>",
            "DelaySeconds",
        ),
        (
            b"<Message><MessageBody>x</MessageBody><UserProperties><PropertyValue><Name>k</Name>"
            b"<Value>v</Value><Type>DATE</Type></PropertyValue></UserProperties></Message>",
            "Type",
        ),
    ],
)
def test_invalid_messages(body: bytes, needle: str) -> None:
    with pytest.raises(w.InvalidXmlArgument, match=needle):
        w.parse_message(body)


def test_batch_limits() -> None:
    one = "<Message><MessageBody>x</MessageBody></Message>"
    w.parse_messages(f"<Messages>{one * 16}</Messages>")
    for n in (0, 17):
        with pytest.raises(w.InvalidXmlArgument):
            w.parse_messages(f"<Messages>{one * n}</Messages>")
    with pytest.raises(w.InvalidXmlArgument):
        w.parse_receipt_handles("<ReceiptHandles>" + "<ReceiptHandle>a</ReceiptHandle>" * 17 + "</ReceiptHandles>")
    with pytest.raises(w.InvalidXmlArgument):
        w.parse_receipt_handles("<ReceiptHandles><ReceiptHandle> </ReceiptHandle></ReceiptHandles>")
    with pytest.raises(w.MalformedXML):
        w.parse_send_body("<Queue/>")
    with pytest.raises(w.InvalidXmlArgument, match="NotifyContentFormat"):
        w.parse_subscription("<Subscription><NotifyContentFormat>CSV</NotifyContentFormat></Subscription>")


# --- responses ----------------------------------------------------------------------------------------


def test_rendered_documents_shape() -> None:
    data = w.render_message(MSG)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<Message xmlns="http://mns.aliyuncs.com/doc/v1/">')
    f = _fields(w.render_message(RAW))
    assert f["MessageBody"] == RAW.body  # CR survives (&#13;), markup escaped
    assert f["MessageBodyMD5"] == w.body_md5(RAW.body) and len(f["MessageBodyMD5"]) == 32
    peek = _fields(w.render_message(replace(MSG, receipt_handle=None, next_visible_time=None)))
    assert "ReceiptHandle" not in peek and "NextVisibleTime" not in peek
    err = _fields(w.render_error("QueueNotExist", "", "R1", "http://h"))
    assert err == {"Code": "QueueNotExist", "Message": "", "RequestId": "R1", "HostId": "http://h"}
    listing = w.parse_xml(w.render_queue_list([("http://h/queues/a", None)]))
    assert [c.tag for c in listing.children] == ["Queue"]  # no empty NextMarker
    assert _fields(w.render_queue(QUEUE))["LoggingEnabled"] == "False"
    with pytest.raises(ValueError):
        w.render_message(replace(MSG, body="bad\x00"))
    assert not w.xml_text_ok("a\x01") and w.xml_text_ok("a\tb\n")
    assert not w.xml_text_ok("lone \ud800 surrogate") and not w.xml_text_ok("\uffff") and w.xml_text_ok("中文 😀")


def test_notifications() -> None:
    body, ctype = w.render_notification(NOTE, "XML")
    assert ctype == "text/xml;charset=utf-8"
    # What the official sample endpoint requires (sample/topic/server.py xml_decode).
    dom = xml.dom.minidom.parseString(body)
    node = dom.getElementsByTagName("Notification")[0]
    got = {n.nodeName: n.firstChild.data for n in node.childNodes if n.nodeName != "#text" and n.childNodes}  # type: ignore[union-attr]
    for key in (
        "TopicOwner",
        "TopicName",
        "Subscriber",
        "SubscriptionName",
        "MessageId",
        "MessageMD5",
        "Message",
        "PublishTime",
    ):
        assert key in got
    assert got["Message"] == NOTE.message and got["MessageTag"] == "tag1"
    jbody, jtype = w.render_notification(NOTE, "JSON")
    doc = json.loads(jbody)
    assert jtype == "application/json" and doc["PublishTime"] == "1449556920975" and doc["Message"] == NOTE.message
    untagged = replace(NOTE, message_tag=None)
    assert "MessageTag" not in json.loads(w.render_notification(untagged, "JSON")[0])
    assert b"MessageTag" not in w.render_notification(untagged, "XML")[0]
    assert w.render_notification(NOTE, "SIMPLIFIED") == (NOTE.message.encode(), "text/plain;charset=utf-8")
    with pytest.raises(ValueError):
        w.render_notification(NOTE, "CSV")


def test_error_table() -> None:
    assert w.MNS_ERRORS["MessageNotExist"] == 404 and w.MNS_ERRORS["QueueAlreadyExist"] == 409
    assert w.MNS_ERRORS["SignatureDoesNotMatch"] == 403 and w.MNS_ERRORS["TimeExpired"] == 408
    assert w.MNS_ERRORS["MalformedXML"] == 400 and w.MNS_ERRORS["SubscriptionAlreadyExist"] == 409
    assert all(400 <= s <= 599 for s in w.MNS_ERRORS.values())


# --- the real SDK decoders ----------------------------------------------------------------------------


def _documents(with_properties: bool) -> dict[str, str]:
    peek = replace(MSG, receipt_handle=None, next_visible_time=None)
    return {
        "queue": w.render_queue(QUEUE).decode(),
        "recv": w.render_message(MSG).decode(),
        "recv_raw": w.render_message(RAW, with_properties).decode(),
        "recv_batch": w.render_messages([MSG, MSG]).decode(),
        "peek": w.render_message(peek).decode(),
        "peek_batch": w.render_messages([peek]).decode(),
        "send": w.render_send_result(w.SendResult(message_id="M1", body_md5="ABC")).decode(),
        "batch_send": w.render_batch_send(
            [w.SendResult(message_id="M1", body_md5="A"), w.SendResult(message_id="M2", body_md5="B")]
        ).decode(),
        "batch_send_err": w.render_batch_send(
            [
                w.SendResult(message_id="M1", body_md5="A"),
                w.EntryError(code="InvalidArgument", message="too big"),
            ]
        ).decode(),
        "batch_del_err": w.render_batch_delete_errors(
            [w.EntryError(code="ReceiptHandleError", message="bad", receipt_handle="rh-1")]
        ).decode(),
        "chvis": w.render_change_visibility("rh-new", 1795374937920).decode(),
        "topic": w.render_topic(TOPIC).decode(),
        "sub": w.render_subscription(SUB).decode(),
        "queues": w.render_queue_list([("http://h/queues/a", None), ("http://h/queues/b", QUEUE)], "b").decode(),
        "queues_last": w.render_queue_list([("http://h/queues/a", None)]).decode(),
        "topics": w.render_topic_list([("http://h/topics/t1", TOPIC)], "t1").decode(),
        "subs": w.render_subscription_list(["http://h/topics/t1/subscriptions/s1"], "s1").decode(),
        "subs_empty": w.render_subscription_list([]).decode(),
        "error": w.render_error(
            "QueueNotExist", "The queue name you provided is not exist.", "R1", "http://h"
        ).decode(),
        "account": w.render_account("bucket").decode(),
    }


USER_AGENTS = {
    "mns115": "aliyun-sdk-python/1.1.5(Linux/6.18.44-fc-v445;3.11.7)",
    "mns130": "aliyun-sdk-python/1.3.0(Linux/6.18.44-fc-v445/x86_64;3.11.7)",
}


def test_client_reads_properties() -> None:
    assert not w.client_reads_properties(USER_AGENTS["mns115"])
    assert w.client_reads_properties(USER_AGENTS["mns130"])
    assert w.client_reads_properties(None) and w.client_reads_properties("aliyun-sdk-java/1.1.8")
    assert b"UserProperties" not in w.render_message(RAW, with_properties=False)
    assert b"UserProperties" in w.render_message(RAW)


# Runs inside the SDK's own environment, feeding our documents to its decoders.
DECODER_SCRIPT = r"""
import json, sys
from mns.mns_xml_handler import *
d = json.loads(sys.stdin.read())
out = {}
q = GetQueueAttrDecoder.decode(d["queue"])
out["queue"] = [q["QueueName"], int(q["ActiveMessages"]), q["LoggingEnabled"]]
r = RecvMessageDecoder.decode(d["recv"], True)
b = r["MessageBody"]
out["recv"] = [r["MessageId"], b.decode() if isinstance(b, bytes) else b,
               r["ReceiptHandle"], int(r["NextVisibleTime"]), int(r["DequeueCount"]), int(r["Priority"])]
r = RecvMessageDecoder.decode(d["recv_raw"], False)
out["recv_raw"] = r["MessageBody"]
props = r.get("UserProperties") or {}
out["props"] = sorted((k, v.get_data_type()) for k, v in props.items()) if isinstance(props, dict) else []
ms = BatchRecvMessageDecoder.decode(d["recv_batch"], True)
out["recv_batch"] = [[m.receipt_handle, m.priority] for m in ms]
p = PeekMessageDecoder.decode(d["peek"], True)
out["peek"] = [p["MessageId"], "ReceiptHandle" in p]
out["peek_batch"] = [m.message_id for m in BatchPeekMessageDecoder.decode(d["peek_batch"], True)]
out["send"] = list(SendMessageDecoder.decode(d["send"])[:2])
out["batch_send"] = [m.message_id for m in BatchSendMessageDecoder.decode(d["batch_send"])]
e = BatchSendMessageDecoder.decodeError(d["batch_send_err"])
out["batch_send_err"] = [e[0], e[1], len(e[4])]
e = BatchDeleteMessageDecoder.decodeError(d["batch_del_err"])
out["batch_del_err"] = [e[0], e[4][0]["ReceiptHandle"]]
out["chvis"] = list(ChangeMsgVisDecoder.decode(d["chvis"]))
t = GetTopicAttrDecoder.decode(d["topic"])
out["topic"] = [t["TopicName"], int(t["MessageCount"])]
s = GetSubscriptionAttrDecoder.decode(d["sub"])
out["sub"] = [s["Endpoint"], s["NotifyContentFormat"], s.get("FilterTag")]
urls, marker, meta = ListQueueDecoder.decode(d["queues"], True)
out["queues"] = [urls, marker, meta[1].get("QueueName")]
out["queues_last"] = list(ListQueueDecoder.decode(d["queues_last"], False)[:2])
urls, marker, meta = ListTopicDecoder.decode(d["topics"], True)
out["topics"] = [urls, marker, meta[0].get("TopicName")]
out["subs"] = list(ListSubscriptionByTopicDecoder.decode(d["subs"]))
out["subs_empty"] = list(ListSubscriptionByTopicDecoder.decode(d["subs_empty"]))
out["error"] = list(ErrorDecoder.decodeError(d["error"])[:4])
try:
    out["account"] = GetAccountAttrDecoder.decode(d["account"])["LoggingBucket"]
except AttributeError:  # aliyun-mns 1.1.5 calls dict.has_key: broken on Python 3
    out["account"] = "has_key"
print(json.dumps(out))
"""


@pytest.mark.parametrize("env", ["mns115", "mns130"])
def test_real_sdk_decoders_accept_our_documents(env: str, request: pytest.FixtureRequest) -> None:
    py = request.getfixturevalue(f"{env}_env").python
    proc = subprocess.run(
        [str(py), "-c", DECODER_SCRIPT],
        input=json.dumps(_documents(w.client_reads_properties(USER_AGENTS[env]))),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    # aliyun-mns 1.1.5 prints debug lines; the JSON is the last line.
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["queue"] == ["q1", 5, "False"]
    assert out["recv"] == [MSG.message_id, "hello mns", MSG.receipt_handle, MSG.next_visible_time, 1, 8]
    assert out["recv_raw"] == RAW.body
    if env == "mns130":
        assert out["props"] == [["k", "STRING"], ["n", "NUMBER"]]
    assert out["recv_batch"] == [[MSG.receipt_handle, 8]] * 2
    assert out["peek"] == [MSG.message_id, False]
    assert out["peek_batch"] == [MSG.message_id]
    assert out["send"] == ["M1", "ABC"]
    assert out["batch_send"] == ["M1", "M2"]
    assert out["batch_send_err"] == ["InvalidArgument", "too big", 2]
    assert out["batch_del_err"] == ["ReceiptHandleError", "rh-1"]
    assert out["chvis"] == ["rh-new", "1795374937920"]
    assert out["topic"] == ["t1", 3]
    assert out["sub"][:2] == [SUB.endpoint, "JSON"]
    assert out["queues"] == [["http://h/queues/a", "http://h/queues/b"], "b", "q1"]
    assert out["queues_last"] == [["http://h/queues/a"], ""]
    assert out["topics"] == [["http://h/topics/t1"], "t1", "t1"]
    assert out["subs"] == [["http://h/topics/t1/subscriptions/s1"], "s1"]
    assert out["subs_empty"] == [[], ""]
    assert out["error"] == ["QueueNotExist", "The queue name you provided is not exist.", "R1", "http://h"]
    assert out["account"] == ("has_key" if env == "mns115" else "bucket")
