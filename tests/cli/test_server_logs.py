"""``tidegate server`` logs: one text style, JSON lines with the flow and execution, the access log.

Each test starts a real server and reads what it wrote (stdout and stderr, as an operator's terminal or
a log collector sees them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.scenarios import PASS_FLOW
from tests.mq.subscriber import Subscriber
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until
from tidegate.mq.client import MnsClient, fields, seg
from tidegate.mq.wire import (
    MessageRequest,
    SubscriptionAttributes,
    TopicAttributes,
    encode_message,
    encode_subscription,
    encode_topic_attributes,
)

AUTH = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
#: A text log line: ISO time (UTC, ms), level, logger, message.
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S")


@pytest.fixture
def text_server(tmp_path: Path) -> Iterator[ServerProcess]:
    env = {**TEST_KEYS, "TIDEGATE_PUSH_RETRY_SCALE": "0.01"}
    srv = ServerProcess(tmp_path / "data", env=env, args=["--access-log"])
    srv.start()
    yield srv
    srv.stop()


def _run_execution(srv: ServerProcess, flow: str, name: str) -> dict[str, Any]:
    with httpx.Client(base_url=srv.url + "/api/v1", auth=AUTH, timeout=30) as api:
        assert api.post("/flows", json={"name": flow, "definition": PASS_FLOW}).status_code == 201
        assert api.post(f"/flows/{flow}/executions", json={"name": name}).status_code in (200, 201)
        doc: dict[str, Any] = api.get(f"/flows/{flow}/executions/{name}", params={"wait": 20}).json()
    return doc


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    docs = [json.loads(line) for line in lines]  # every line parses, or the test fails here
    assert all(isinstance(d, dict) for d in docs)
    return docs


def test_json_lines_carry_the_flow_and_execution_of_a_run(tmp_path: Path) -> None:
    srv = ServerProcess(
        tmp_path / "data", env=TEST_KEYS, args=["--log-format", "json", "--log-level", "debug", "--access-log"]
    )
    srv.start()
    try:
        assert _run_execution(srv, "logged", "run-1")["status"] == "Succeeded"
    finally:
        assert srv.stop() == 0
    docs = _json_lines(srv.log())
    for d in docs:
        assert {"time", "level", "logger", "message"} <= d.keys(), d
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", d["time"]), d
    about_run = [d for d in docs if d.get("flow") == "logged" and d.get("execution") == "run-1"]
    assert about_run, docs
    assert all(d["logger"].startswith("tidegate.") for d in about_run)
    assert any("Succeeded" in d["message"] for d in about_run), about_run
    lifecycle = [d["message"] for d in docs if d["logger"] == "tidegate.server"]
    assert any(m.startswith(f"serving on {srv.url} ") for m in lifecycle) and lifecycle[-1] == "stopped"
    path = "/api/v1/flows/logged/executions"
    starts = [d for d in docs if d["logger"] == "tidegate.access" and d.get("path") == path]
    assert len(starts) == 1 and starts[0]["method"] == "POST" and starts[0]["status"] in (200, 201)
    assert isinstance(starts[0]["duration_ms"], int | float)


def test_access_log_lines_have_the_request_id_and_no_query(text_server: ServerProcess) -> None:
    r = httpx.get(f"{text_server.url}/queues/nothing?Signature=s3cr3t-sig&SecurityToken=t0ken", timeout=10)
    request_id = r.headers["x-mns-request-id"]
    wait_until(lambda: request_id in text_server.log(), timeout=10, message=text_server.log)
    rpc = httpx.get(f"{text_server.url}/?Action=ListFlows&Version=2019-03-15&AccessKeyId=x&Signature=s3cr3t-rpc")
    rpc_id = rpc.headers["x-acs-request-id"]
    wait_until(lambda: rpc_id in text_server.log(), timeout=10)
    hostile = httpx.get(f"{text_server.url}/queues/a%0Ab%1B[31m/messages", timeout=10)
    hostile_id = hostile.headers["x-mns-request-id"]
    wait_until(lambda: hostile_id in text_server.log(), timeout=10)
    log = text_server.log()
    access = [line for line in log.splitlines() if " INFO tidegate.access: " in line]
    mine = [line for line in access if line.endswith(request_id)]
    assert len(mine) == 1 and re.search(rf"GET /queues/nothing {r.status_code} [\d.]+ ms {request_id}$", mine[0])
    rpc_line = next(line for line in access if line.endswith(rpc_id))
    assert rpc_line.split(": ", 1)[1].startswith(f"GET / {rpc.status_code} ")
    hostile_line = [line for line in access if line.endswith(hostile_id)]
    assert len(hostile_line) == 1 and "/queues/a\\nb\\x1b[31m/messages" in hostile_line[0]
    assert "s3cr3t" not in log and "t0ken" not in log


def test_text_lines_have_one_style_and_pushes_write_no_httpx_lines(text_server: ServerProcess) -> None:
    sub = Subscriber()
    url = sub.start()
    client = MnsClient(text_server.url, *AUTH)
    try:
        client.request("PUT", "/topics/t", body=encode_topic_attributes(TopicAttributes()))
        attrs = SubscriptionAttributes(endpoint=f"{url}/ok")
        client.request("PUT", f"/topics/{seg('t')}/subscriptions/s", body=encode_subscription(attrs))
        dead = SubscriptionAttributes(endpoint="http://127.0.0.1:9/never")  # refused: retried, then given up
        client.request("PUT", f"/topics/{seg('t')}/subscriptions/dead", body=encode_subscription(dead))
        client.request("POST", "/topics/t/messages", body=encode_message(MessageRequest(body="hello")))
        wait_until(lambda: bool(sub.at("/ok")), timeout=30)
        # Both pushes are settled (done or given up) once the topic holds no pending message.
        wait_until(lambda: fields(client.request("GET", "/topics/t").xml())["MessageCount"] == "0", timeout=60)
    finally:
        client.close()
        sub.stop()
    log = text_server.log()
    assert "HTTP Request:" not in log  # httpx's line per push
    assert "push of" in log  # the failed push's warning, in the server's own style
    assert ": tidegate:" not in log and "tidegate: tidegate" not in log
    lines = log.splitlines()
    for line in lines:
        if not line.startswith((" ", "Traceback", "\t")) and line:
            assert TEXT_LINE.match(line), line


def test_with_json_logs_a_new_root_key_is_announced_without_its_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    srv = ServerProcess(data, args=["--log-format", "json"])
    srv.start()
    assert srv.stop() == 0
    key = json.loads((data / "root-key.json").read_text())
    docs = _json_lines(srv.log())  # nothing but JSON lines, on stdout as on stderr
    assert key["access_key_secret"] not in srv.log()
    created = [d for d in docs if d["message"].startswith("created the root AccessKey")]
    assert len(created) == 1 and key["access_key_id"] in created[0]["message"]
    assert str(data / "root-key.json") in created[0]["message"]
