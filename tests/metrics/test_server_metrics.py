"""``/metrics`` of a real ``tidegate server``, moved by a callback flow the official SDKs drive.

The flow calls a local function, then sends its task token to a queue and waits for the callback; the
test receives the message with the MNS SDK and reports with the FnF SDK (both in the ``worker``
environment), scraping ``/metrics`` between the steps.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.scenarios import write_functions
from tests.api.sdk import CORE_PRELUDE
from tests.inprocess import TEST_AUTH
from tests.metrics.helpers import FAMILIES, Samples, delta, labels_of, parse, total, value
from tests.sdkenv import SdkEnv, run_in_env, worker_env  # noqa: F401  (fixture)
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until

FLOW = "metricsflow"
QUEUE = "metrics-q"
DEFINITION = f"""version: v1
type: flow
steps:
  - type: task
    name: call
    resourceArn: acs:fc:::services/svc/functions/ack
  - type: task
    name: wait
    resourceArn: acs:mns:::/queues/{QUEUE}/messages
    pattern: waitForCallback
    inputMappings:
      - {{target: task_token, source: $context.task.token}}
    serviceParams:
      MessageBody: $
"""

START = """
from mns.account import Account
from mns.queue import QueueMeta
Account(os.environ["MNS_URL"], os.environ["AK"], os.environ["SK"]).get_queue(QUEUE).create(QueueMeta())
out["create"] = call("CreateFlow", Name=FLOW, Definition=DEFINITION, Description="", Type="FDL")
out["start"] = call("StartExecution", FlowName=FLOW, ExecutionName="e1", Input="{}")
"""

REPORT = """
from mns.account import Account
q = Account(os.environ["MNS_URL"], os.environ["AK"], os.environ["SK"]).get_queue(QUEUE)
q.set_encoding(False)  # the flow sends its input as plain text, not base64
m = q.receive_message(10)
body = m.message_body if isinstance(m.message_body, str) else m.message_body.decode()
out["report"] = call("ReportTaskSucceeded", TaskToken=json.loads(body)["task_token"], Output='{"ok": true}')
q.delete_message(m.receipt_handle)
"""


def _sdk(server: ServerProcess, scenario: str) -> dict[str, Any]:
    prelude = f"FLOW = {FLOW!r}\nQUEUE = {QUEUE!r}\nDEFINITION = {DEFINITION!r}\nout = {{}}\n"
    script = CORE_PRELUDE + prelude + scenario + "\nprint('@@OUT@@' + json.dumps(out))\n"
    env = {"AK": TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], "SK": TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"]}
    env |= {"ENDPOINT": server.endpoint, "MNS_URL": server.url}
    proc = run_in_env("worker", script, env=env, timeout=90)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@OUT@@")]
    assert proc.returncode == 0 and lines, f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}\n{server.log()[-2000:]}"
    out: dict[str, Any] = json.loads(lines[-1][len("@@OUT@@") :])
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("metrics")
    srv = ServerProcess(base / "data", env=TEST_KEYS, args=["--functions", str(write_functions(base / "fn"))])
    srv.start()
    yield srv
    srv.stop()


def scrape(server: ServerProcess) -> Samples:
    reply = httpx.get(f"{server.url}/metrics", auth=TEST_AUTH, timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    names, samples = parse(reply.text)
    assert FAMILIES <= names, f"missing: {sorted(FAMILIES - names)}"
    return samples


def test_a_callback_flow_moves_the_metrics(server: ServerProcess, worker_env: SdkEnv) -> None:  # noqa: F811
    before = scrape(server)
    out = _sdk(server, START)
    assert "ok" in out["create"] and "ok" in out["start"], out

    def message_waiting() -> Samples | None:
        s = scrape(server)
        return s if value(s, "tidegate_queue_messages", queue=QUEUE, state="visible") == 1 else None

    waiting = wait_until(message_waiting, timeout=30, message="the task's message in the queue gauge")
    assert value(waiting, "tidegate_tasks_waiting_callback") >= 1
    assert value(waiting, "tidegate_queue_messages", queue=QUEUE, state="inflight") == 0
    assert value(waiting, "tidegate_queue_oldest_message_age_seconds", queue=QUEUE) >= 0
    assert delta(before, waiting, "tidegate_executions_started_total", flow=FLOW) == 1
    fn = {"function": "svc/ack"}
    assert delta(before, waiting, "tidegate_function_invocations_total", outcome="ok", **fn) == 1
    assert delta(before, waiting, "tidegate_function_duration_seconds_count", **fn) == 1
    assert delta(before, waiting, "tidegate_task_duration_seconds_count", flow=FLOW, resource="function") == 1

    out = _sdk(server, REPORT)
    assert "ok" in out["report"], out

    def ended() -> Samples | None:
        s = scrape(server)
        return s if delta(before, s, "tidegate_executions_ended_total", flow=FLOW, status="Succeeded") == 1 else None

    after = wait_until(ended, timeout=30, message="the execution's end in the counters")
    queue_task = {"flow": FLOW, "resource": "queue"}
    assert delta(before, after, "tidegate_callback_wait_seconds_count", **queue_task) == 1
    assert delta(before, after, "tidegate_callback_wait_seconds_sum", **queue_task) > 0
    assert delta(before, after, "tidegate_task_duration_seconds_count", pattern="waitForCallback", **queue_task) == 1
    assert delta(before, after, "tidegate_step_duration_seconds_count", flow=FLOW) == 2
    for action in ("CreateFlow", "StartExecution", "ReportTaskSucceeded"):
        assert delta(before, after, "tidegate_http_requests_total", protocol="rpc", action=action, status="200") == 1
        assert delta(before, after, "tidegate_http_request_duration_seconds_count", protocol="rpc", action=action) == 1
    for op in ("CreateQueue", "ReceiveMessage", "DeleteMessage"):
        assert delta(before, after, "tidegate_http_requests_total", protocol="mns", action=op) == 1, op
    assert delta(before, after, "tidegate_store_write_seconds_count") > 0
    assert delta(before, after, "tidegate_store_commit_transitions_count") > 0
    # The scrapes themselves are requests like any other.
    assert total(after, "tidegate_http_requests_total", protocol="other", action="GET", status="200") >= 3

    def emptied() -> Samples | None:  # the gauges are read at most every 5 s: the deletion shows within that
        s = scrape(server)
        return s if total(s, "tidegate_queue_messages", queue=QUEUE) == 0 else None

    gone = wait_until(emptied, timeout=30, message="the deleted message to leave the queue gauges")
    assert value(gone, "tidegate_queue_oldest_message_age_seconds", queue=QUEUE) == 0
    assert labels_of(gone, "tidegate_queue_messages")  # the empty queue is still listed, with zeros


def test_metrics_need_the_root_key(server: ServerProcess) -> None:
    url = f"{server.url}/metrics"
    anonymous = httpx.get(url, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "Unauthorized"
    assert anonymous.headers["www-authenticate"] == 'Basic realm="tidegate"'
    assert "tidegate_" not in anonymous.text
    wrong = httpx.get(url, auth=(TEST_AUTH[0], "not-the-secret"), timeout=10)
    assert wrong.status_code == 401
    assert httpx.get(url, auth=TEST_AUTH, timeout=10).status_code == 200


@pytest.mark.parametrize(
    ("flag", "anonymous"),
    [("--metrics-public", 200), ("--no-metrics", 404)],
)
def test_metrics_options(tmp_path: Path, flag: str, anonymous: int) -> None:
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS, args=[flag])
    srv.start()
    try:
        reply = httpx.get(f"{srv.url}/metrics", timeout=10)
        assert reply.status_code == anonymous
        if anonymous == 200:
            assert FAMILIES <= parse(reply.text)[0]
    finally:
        srv.stop()


PUSH = """
from mns.account import Account
from mns.queue import QueueMeta
from mns.subscription import SubscriptionMeta
from mns.topic import TopicMessage, TopicMeta
acc = Account(os.environ["MNS_URL"], os.environ["AK"], os.environ["SK"])
acc.get_queue("metrics-sink").create(QueueMeta())
topic = acc.get_topic("metrics-t")
topic.create(TopicMeta())
sink = "acs:mns:cn-hangzhou:1234567890123456:queues/metrics-sink"
topic.get_subscription("to-queue").subscribe(SubscriptionMeta(sink, "BACKOFF_RETRY", "SIMPLIFIED"))
topic.get_subscription("refused").subscribe(SubscriptionMeta("http://127.0.0.1:9/x", "BACKOFF_RETRY"))
out["publish"] = topic.publish_message(TopicMessage("pushed")).message_id
"""


def test_push_deliveries_are_counted_by_outcome(server: ServerProcess, worker_env: SdkEnv) -> None:  # noqa: F811
    before = scrape(server)
    assert _sdk(server, PUSH)["publish"]

    def both() -> Samples | None:
        s = scrape(server)
        done = delta(before, s, "tidegate_push_deliveries_total", outcome="delivered") == 1
        return s if done and delta(before, s, "tidegate_push_deliveries_total", outcome="retry") >= 1 else None

    after = wait_until(both, timeout=30, message="a delivered push and a refused one's retry")
    assert delta(before, after, "tidegate_push_deliveries_total", outcome="failed") == 0  # retries go on
    assert delta(before, after, "tidegate_http_requests_total", protocol="mns", action="PublishMessage") == 1
    assert delta(before, after, "tidegate_http_requests_total", protocol="mns", action="Subscribe") == 2
