"""``tidegate run`` answers queue and topic task steps in process: --respond, --responses, --worker.

The first source document's flow (examples/queue-callback/flow.yaml: a waitForCallback step sending to the
queue fnf-demo) runs with no server; each way of answering it, and each refusal, is checked through the
real command.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.cli.helpers import Result, tidegate
from tests.conftest import REPO
from tidegate.cli import main

FLOW = str(REPO / "examples" / "queue-callback" / "flow.yaml")

HANDLERS = """
from tidegate.sdk import TaskFailed, current_task

def ok(payload):
    task = current_task()
    return {"payload": payload, "has_token": bool(task.token), "attempt": task.dequeue_count}

def refuse(payload):
    raise TaskFailed("Refused", "no " + payload["key"])

def crash(payload):
    raise KeyError("boom")

async def later(payload):
    return {"async": payload["key"]}

def a_list(payload):
    return [1, 2]
"""

RETRY_FLOW = """
version: v1
type: flow
steps:
  - type: task
    name: Notify
    resourceArn: acs:mns:::/topics/orders/messages
    pattern: waitForCallback
    inputMappings:
      - target: taskToken
        source: $context.task.token
      - target: messageBody
        source: $input.order
    serviceParams:
      MessageBody: $
    retry:
      - errors: [Busy]
        intervalSeconds: 0
        maxAttempts: 2
  - type: task
    name: Send
    resourceArn: acs:mns:::/queues/audit/messages
    serviceParams:
      MessageBody: audit
"""


def run(*args: str) -> Result:
    return tidegate("run", *args, "--timeout", "60")


def history(r: Result) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = r.json()["Events"]
    return events


def test_respond_output_succeeds_with_it() -> None:
    r = run(FLOW, "--respond", 'Task_1={"key": "value"}')
    assert r.rc == 0, r
    assert r.out.splitlines()[-1] == '{"key":"value"}'


def test_respond_failure_fails_the_execution_with_its_error_and_cause() -> None:
    r = run(FLOW, "--respond", 'Task_1={"error": "Declined", "cause": "over budget"}', "--json")
    assert r.rc == 1, r
    doc = r.json()
    assert (doc["Status"], doc["Error"], doc["Cause"]) == ("Failed", "Declined", "over budget")
    failed = next(e for e in history(r) if e["Type"] == "TaskFailed")
    detail = json.loads(failed["EventDetail"])
    assert detail["answer"] == "--respond"
    body = json.loads(detail["messageBody"])  # the message the flow built: the token and the mapped input
    assert body["key"] == "value" and body["task_token"]


def test_no_answer_fails_naming_the_options() -> None:
    r = run(FLOW)
    assert r.rc == 1, r
    assert "error: FnF.IntegrationUnavailable" in r.out
    assert "step Task_1 has no local answer: give one with --respond Task_1=JSON, --responses FILE" in r.out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--respond", "Task_9={}"], "--respond names the step 'Task_9', which is not a queue or topic task step"),
        (["--respond", "Task_1"], "--respond 'Task_1': expected STEP=JSON"),
        (["--respond", "Task_1={"], "not valid JSON"),
        (["--respond", "Task_1=[1]"], "--respond Task_1[0]: a reply must be a JSON object, not a number"),
        (["--respond", 'Task_1={"error": "E", "x": 1}'], "a failure holds only error and cause, not x"),
        (["--respond", 'Task_1={"error": ""}'], "error must be a string of 1 to 128 characters"),
        (["--worker", "Task_1=nosuchmodule:f"], "cannot import 'nosuchmodule'"),
        (["--worker", "Task_2=x:y"], "--worker names the step 'Task_2'"),
        (["--worker", "Task_1=handlers:ok", "--respond", "Task_1={}"], "the step 'Task_1' is given twice"),
        (["--worker", "a:b", "--worker", "c:d"], "give one --worker module:function for all steps"),
    ],
)
def test_bad_answers_are_refused_before_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)  # in process: refusals come before anything runs
    r = CliRunner().invoke(main, ["run", FLOW, *args])
    assert r.exit_code == 2, r.output
    assert message in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Succeeded" not in r.output and "Failed" not in r.output


def test_responses_file_answers_successive_attempts(tmp_path: Path) -> None:
    flow = tmp_path / "notify.yaml"
    flow.write_text(RETRY_FLOW)
    responses = tmp_path / "responses.yaml"
    responses.write_text("Notify:\n  - {error: Busy, cause: try later}\n  - {sent: true}\n")
    r = run(str(flow), "--input", '{"order": {"id": 7}}', "--responses", str(responses), "--json")
    assert r.rc == 0, r
    doc = r.json()
    assert json.loads(doc["Output"])["sent"] is True
    types = [(e["StepName"], e["Type"]) for e in history(r)]
    assert types.count(("Notify", "TaskFailed")) == 1 and types.count(("Notify", "TaskSucceeded")) == 1
    # The requestResponse step needs no answer: its $local is the send's receipt.
    send = next(e for e in history(r) if e["StepName"] == "Send" and e["Type"] == "TaskSucceeded")
    local = json.loads(send["EventDetail"])["output"]
    assert set(local) == {"MessageId", "MessageBodyMD5", "RequestId"}
    assert local["MessageBodyMD5"] == hashlib.md5(b"audit").hexdigest().upper()
    assert len(local["MessageId"]) == 32


def test_attempts_beyond_the_responses_fail_clearly(tmp_path: Path) -> None:
    flow = tmp_path / "notify.yaml"
    flow.write_text(RETRY_FLOW)
    r = run(str(flow), "--respond", 'Notify={"error": "Busy"}')
    assert r.rc == 1, r
    assert "step Notify attempt 2: --respond gives 1 answer(s) for it" in r.out


def test_request_response_step_takes_only_a_failure(tmp_path: Path) -> None:
    flow = tmp_path / "notify.yaml"
    flow.write_text(RETRY_FLOW)
    r = run(str(flow), "--respond", "Notify={}", "--respond", "Send={}")
    assert r.rc == 2 and "'Send' is a requestResponse step" in r.err, r
    r = run(str(flow), "--respond", "Notify={}", "--respond", 'Send={"error": "MNS.QueueNotExist"}')
    assert r.rc == 1 and "error: MNS.QueueNotExist" in r.out, r


def test_verbose_shows_each_message_body() -> None:
    r = run(FLOW, "--respond", "Task_1={}", "--verbose")
    assert r.rc == 0, r
    head, body = r.err.splitlines()[:2]
    assert head == "Task_1 (attempt 1, waitForCallback): acs:mns:::/queues/fnf-demo/messages"
    assert json.loads(body)["key"] == "value"


@pytest.mark.parametrize(
    ("handler", "rc", "expect"),
    [
        ("handlers:ok", 0, '{"attempt":1,"has_token":true,"payload":{"key":"value"}}'),
        ("handlers:later", 0, '{"async":"value"}'),
        ("handlers:refuse", 1, "error: Refused\ncause: no value"),
        ("handlers:crash", 1, "error: KeyError\ncause: 'boom'"),
        ("handlers:a_list", 1, "error: OutputRejected\ncause: InvalidArgument: The task output must be a JSON object"),
    ],
)
def test_worker_handler_answers_as_a_worker_reports(tmp_path: Path, handler: str, rc: int, expect: str) -> None:
    (tmp_path / "handlers.py").write_text(textwrap.dedent(HANDLERS))
    r = tidegate("run", FLOW, "--worker", handler, "--timeout", "60", cwd=tmp_path)
    assert r.rc == rc, r
    out = r.out.split("\n", 1)[1]
    if rc == 0:
        assert json.loads(out) == json.loads(expect)
    else:
        assert out.startswith(expect), out


def test_worker_of_one_step_and_a_body_without_token(tmp_path: Path) -> None:
    (tmp_path / "handlers.py").write_text(HANDLERS)
    flow = tmp_path / "flow.yaml"
    flow.write_text(Path(FLOW).read_text().replace("target: task_token", "target: token"))  # a field no worker reads
    r = tidegate("run", str(flow), "--worker", "Task_1=handlers:ok", "--timeout", "60", cwd=tmp_path)
    assert r.rc == 1, r
    assert "error: InvalidTaskMessage" in r.out and "no task token in the fields task_token, taskToken" in r.out
