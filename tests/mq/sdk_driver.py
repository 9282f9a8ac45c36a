# mypy: ignore-errors
"""Driven inside an official MNS SDK's virtual environment (aliyun-mns 1.1.5 or aliyun-mns-sdk 1.3.0).

Runs every MNS operation (docs/protocols.md) against ``MNS_URL`` and prints one line ``RESULT <json>`` with
what each returned (or the ``MNSServerException.type`` it raised). Both SDKs print debug output of their
own (1.1.5 even prints secrets), hence the marker.
"""

import json
import os
import time

from mns.account import Account
from mns.mns_exception import MNSServerException
from mns.queue import Message, QueueMeta
from mns.subscription import SubscriptionMeta
from mns.topic import TopicMessage, TopicMeta

URL, P, REGION, ACCOUNT = (os.environ[k] for k in ("MNS_URL", "PREFIX", "REGION", "ACCOUNT"))
acc = Account(URL, "testAccessKeyId", "testAccessKeySecret")
res = {}


def s(b):
    return b if isinstance(b, str) else b.decode()


def err(fn):
    try:
        fn()
    except MNSServerException as e:
        return e.type
    return None


q = acc.get_queue(P + "q")
meta = QueueMeta()
meta.set_visibilitytimeout(2)
res["create"] = q.create(meta)
res["recreate_same"] = err(lambda: q.create(meta))
other = QueueMeta()
other.set_visibilitytimeout(100)
res["recreate_other"] = err(lambda: q.create(other))
change = QueueMeta()
change.set_visibilitytimeout(2)
change.set_delay_seconds(0)
change.set_polling_wait_seconds(1)
q.set_attributes(change)
a = q.get_attributes()
res["attrs"] = [a.visibility_timeout, a.polling_wait_seconds, a.active_messages]
acc.get_queue(P + "q2").create(QueueMeta())
page, marker = acc.list_queue(P, 1)
res["list1"] = [len(page), bool(marker)]
page2, marker2 = acc.list_queue(P, 10, marker)
res["list2"] = [len(page2), marker2]

res["send"] = len(q.send_message(Message("hello")).message_id)
q.send_message(Message("first", 0, 1))
batch = q.batch_send_message([Message(f"b{i}") for i in range(3)])
res["batch_send"] = len(batch)
res["peek"] = s(q.peek_message().message_body)
res["batch_peek"] = len(q.batch_peek_message(16))
m1 = q.receive_message(1)
res["receive"] = [s(m1.message_body), m1.dequeue_count, m1.priority]
rest = q.batch_receive_message(16, 1)
res["batch_receive"] = sorted(s(m.message_body) for m in rest)
cv = q.change_message_visibility(m1.receipt_handle, 10)
res["stale_after_change"] = err(lambda: q.delete_message(m1.receipt_handle))
q.delete_message(cv.receipt_handle)
q.batch_delete_message([m.receipt_handle for m in rest])
t0 = time.time()
res["empty_receive"] = err(lambda: q.receive_message(1))
res["empty_wait"] = round(time.time() - t0, 1)
res["empty_batch"] = err(lambda: q.batch_receive_message(4, 0))

q.send_message(Message("again"))
r1 = q.receive_message(1)
# Long-poll until the queue's VisibilityTimeout (2 s) ends and the message comes back.
r2 = q.receive_message(5)
res["redelivered"] = [r2.dequeue_count, r1.receipt_handle != r2.receipt_handle]
res["old_handle"] = err(lambda: q.delete_message(r1.receipt_handle))
q.delete_message(r2.receipt_handle)
res["bad_handle"] = err(lambda: q.delete_message("garbage"))
q.delete()
res["after_delete"] = err(lambda: q.get_attributes())
res["send_missing"] = err(lambda: acc.get_queue(P + "none").send_message(Message("x")))

t = acc.get_topic(P + "t")
res["topic_create"] = bool(t.create(TopicMeta()))
tm = TopicMeta()
tm.set_maximum_message_size(10240)
t.set_attributes(tm)
res["topic_attrs"] = t.get_attributes().maximum_message_size
tpage, _ = acc.list_topic(P)
res["topic_list"] = len(tpage)
sink = acc.get_queue(P + "sink")
sink.create(QueueMeta())
sub = t.get_subscription("s1")
endpoint = f"acs:mns:{REGION}:{ACCOUNT}:queues/{P}sink"
res["subscribe"] = bool(sub.subscribe(SubscriptionMeta(endpoint, "BACKOFF_RETRY", "SIMPLIFIED")))
res["subscribe_again"] = err(lambda: sub.subscribe(SubscriptionMeta("http://127.0.0.1:1/x", "BACKOFF_RETRY")))
sa = sub.get_attributes()
res["sub_attrs"] = [sa.endpoint == endpoint, sa.notify_content_format]
sub.set_attributes(SubscriptionMeta(notify_strategy="EXPONENTIAL_DECAY_RETRY"))
res["sub_strategy"] = sub.get_attributes().notify_strategy
slist, _ = t.list_subscription()
res["sub_list"] = len(slist)
res["publish"] = len(t.publish_message(TopicMessage("pushed body")).message_id)
sink.set_encoding(False)
got = sink.receive_message(10)
res["via_queue"] = s(got.message_body)
sub.unsubscribe()
t.delete()
res["topic_gone"] = err(lambda: t.get_attributes())

from mns.account import AccountMeta  # noqa: E402

acc.set_attributes(AccountMeta("bucket"))
try:
    res["account"] = acc.get_attributes().logging_bucket
except AttributeError:  # aliyun-mns 1.1.5 calls dict.has_key (Python 2 only)
    res["account"] = "sdk-broken"

bad = Account(URL, "testAccessKeyId", "wrongSecret")
res["wrong_secret"] = err(lambda: bad.get_queue(P + "sink").get_attributes())
unknown = Account(URL, "nobody", "testAccessKeySecret")
res["unknown_key"] = err(lambda: unknown.get_queue(P + "sink").get_attributes())
print("RESULT " + json.dumps(res))
