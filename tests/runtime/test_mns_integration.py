"""Queue and topic task targets: the message commits with the step's transition (both stores)."""

from __future__ import annotations

import json

import pytest

from tests.runtime.helpers import add_flow, start, wait_ended
from tests.waiting import wait_until
from tidegate.engine import TaskSucceeded
from tidegate.integrations.mns import mns_targets
from tidegate.mq import QueueService, TopicService
from tidegate.mq.wire import QueueAttributes, TopicAttributes, body_md5
from tidegate.runtime import Runtime, load_signer
from tidegate.store import Store

QUEUE_CALLBACK = """version: v1
type: flow
steps:
  - type: task
    name: Task_1
    resourceArn: acs:mns:::/queues/fnf-demo/messages
    pattern: waitForCallback
    inputMappings:
      - {target: task_token, source: $context.task.token}
      - {target: key, source: value}
    serviceParams:
      MessageBody: $
      Priority: 1
"""

SEND_ONLY = """version: v1
type: flow
steps:
  - type: task
    name: notify
    resourceArn: acs:mns:::/{kind}/{name}/messages
    serviceParams:
      MessageBody: $.text
      DelaySeconds: 0
    catch:
      - errors: [MNS.QueueNotExist, MNS.TopicNotExist]
        goto: missing
  - {{type: pass, name: sent, end: true}}
  - type: pass
    name: missing
    outputMappings:
      - {{target: missing, source: true}}
"""


def runtime(store: Store) -> Runtime:
    transactional = mns_targets(store, region="cn-hangzhou", account_id="1234567890123456")
    return Runtime(store, signer=load_signer(store), transactional=transactional)


def test_wait_for_callback_sends_the_token_and_resumes_on_report(store: Store) -> None:
    queues = QueueService(store.database)
    queues.create_queue("fnf-demo", QueueAttributes())
    add_flow(store, "demo", QUEUE_CALLBACK)
    rt = runtime(store)
    with rt:
        ex = start(store, "demo")
        (msg,) = queues.receive("fnf-demo", 1, wait_s=10)
        body = json.loads(msg.body)
        assert body["key"] == "value" and msg.priority == 1
        _, _, task_key = rt.signer.parse(body["task_token"])
        wait_until(lambda: any(h.type == "TaskSubmitted" for h in store.get_history(ex.id)), message="TaskSubmitted")
        assert store.complete_task(ex.id, task_key, TaskSucceeded(task_key=task_key, output={"key": "value"}).to_dict())
        done = wait_ended(store, ex.id)
    assert done.status == "Succeeded" and json.loads(done.output or "") == {"key": "value"}
    types = [h.type for h in store.get_history(ex.id)]
    assert types[:5] == ["ExecutionStarted", "StepEntered", "TaskScheduled", "TaskSubmitted", "TaskSucceeded"]
    assert msg.body == json.dumps(body, ensure_ascii=False)  # the documents' MessageBody: $ form


@pytest.mark.parametrize("kind", ["queues", "topics"])
def test_request_response_send_gives_message_id_and_md5(store: Store, kind: str) -> None:
    db = store.database
    if kind == "queues":
        QueueService(db).create_queue("out", QueueAttributes())
    else:
        TopicService(db, "cn-hangzhou", "1234567890123456").create_topic("out", TopicAttributes())
    add_flow(store, "send", SEND_ONLY.format(kind=kind, name="out"))
    with runtime(store):
        done = wait_ended(store, start(store, "send", {"text": "hello"}).id)
    assert done.status == "Succeeded", (done.error, done.cause)
    local = json.loads(done.output or "")
    assert local["MessageBodyMD5"] == body_md5("hello") and local["MessageId"] and local["RequestId"]
    if kind == "queues":
        (msg,) = QueueService(db).peek("out", 1)
        assert msg.body == "hello" and msg.message_id == local["MessageId"]


@pytest.mark.parametrize("kind", ["queues", "topics"])
def test_missing_target_fails_the_task_with_a_catchable_mns_error(store: Store, kind: str) -> None:
    add_flow(store, "send", SEND_ONLY.format(kind=kind, name="nowhere"))
    with runtime(store):
        done = wait_ended(store, start(store, "send", {"text": "hello"}).id)
    assert done.status == "Succeeded" and json.loads(done.output or "") == {"missing": True}
    failed = [json.loads(h.detail) for h in store.get_history(done.id) if h.type == "TaskFailed"]
    assert failed[0]["error"] in ("MNS.QueueNotExist", "MNS.TopicNotExist")
    assert "nowhere" in failed[0]["cause"]


UNSAFE_TEXT = """version: v1
type: flow
steps:
  - type: task
    name: notify
    resourceArn: acs:mns:::/{kind}/out/messages
    serviceParams:
      MessageBody: $.text
    catch:
      - errors: [MNS.MalformedXML]
        goto: refused
  - {{type: pass, name: sent, end: true}}
  - type: pass
    name: refused
    outputMappings:
      - {{target: refused, source: true}}
"""


@pytest.mark.parametrize("kind", ["queues", "topics"])
def test_text_xml_cannot_carry_fails_the_task_with_a_catchable_error(store: Store, kind: str) -> None:
    db = store.database
    queues = QueueService(db)
    if kind == "queues":
        queues.create_queue("out", QueueAttributes())
    else:
        TopicService(db, "cn-hangzhou", "1234567890123456").create_topic("out", TopicAttributes())
    add_flow(store, "unsafe", UNSAFE_TEXT.format(kind=kind))
    with runtime(store):
        done = wait_ended(store, start(store, "unsafe", {"text": "flow\u0002body"}).id)
    assert done.status == "Succeeded" and json.loads(done.output or "") == {"refused": True}
    (failed,) = [json.loads(h.detail) for h in store.get_history(done.id) if h.type == "TaskFailed"]
    assert failed["error"] == "MNS.MalformedXML"
    assert "U+0002 at position 4" in failed["cause"]
    if kind == "queues":  # nothing was sent: the queue has no message that a receive could choke on
        assert queues.get_queue("out").active_messages == 0


def test_text_xml_cannot_carry_fails_the_execution_without_a_catch(store: Store) -> None:
    QueueService(store.database).create_queue("out", QueueAttributes())
    add_flow(store, "plain", SEND_ONLY.format(kind="queues", name="out"))
    with runtime(store):
        done = wait_ended(store, start(store, "plain", {"text": "bad\u0001"}).id)
    assert done.status == "Failed" and done.error == "MNS.MalformedXML"
    assert "U+0001 at position 3" in (done.cause or "")
