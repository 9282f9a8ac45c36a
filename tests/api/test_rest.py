"""The JSON REST API under /api/v1/ against the real server (httpx, HTTP Basic with the test key)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.scenarios import CALLBACK_FLOW, PASS_FLOW
from tests.server import ServerProcess
from tests.waiting import wait_until

AUTH = ("testAccessKeyId", "testAccessKeySecret")


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/api/v1", auth=AUTH, timeout=40) as client:
        yield client


def wait_submitted(api: httpx.Client, flow: str, name: str) -> str:
    """Wait (polling the history) until the task is submitted; return its token."""

    def token() -> str | None:
        events = api.get(f"/flows/{flow}/executions/{name}/history").json()["events"]
        if any(e["type"] == "TaskSubmitted" for e in events):
            return str(next(e for e in events if e["type"] == "TaskScheduled")["detail"]["input"]["token"])
        return None

    return wait_until(token, message=f"the task of {name} to be submitted")


def test_auth_is_required(server: ServerProcess) -> None:
    none = httpx.get(server.url + "/api/v1/flows", timeout=5)
    wrong = httpx.get(server.url + "/api/v1/flows", auth=("testAccessKeyId", "nope"), timeout=5)
    unknown = httpx.get(server.url + "/api/v1/flows", auth=("LTAIx", "y"), timeout=5)
    for r in (none, wrong, unknown):
        assert r.status_code == 401 and r.json()["code"] == "Unauthorized"
    assert none.headers["www-authenticate"].startswith("Basic")


def test_openapi_document(server: ServerProcess) -> None:
    doc = httpx.get(server.url + "/api/v1/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.")
    assert "/api/v1/flows/{flow}/executions/{execution}" in doc["paths"]
    assert set(doc["components"]["schemas"]) >= {"Flow", "Execution", "Event", "Schedule", "Error"}


def test_flows(api: httpx.Client) -> None:
    created = api.post("/flows", json={"name": "rest_f", "definition": PASS_FLOW, "description": "d"})
    dup = api.post("/flows", json={"name": "rest_f", "definition": PASS_FLOW})
    bad = api.post("/flows", json={"name": "rest_bad", "definition": "version: v1\ntype: flow\nsteps: 3\n"})
    extra = api.post("/flows", json={"name": "rest_x", "definition": PASS_FLOW, "colour": "red"})
    not_json = api.post("/flows", content=b"{nope", headers={"content-type": "application/json"})
    assert created.status_code == 201 and created.json()["name"] == "rest_f"
    assert dup.status_code == 409 and dup.json()["code"] == "FlowAlreadyExists"
    assert bad.status_code == 400 and "Definition:3" in bad.json()["message"]
    assert extra.status_code == 400 and "colour" in extra.json()["message"]
    assert not_json.status_code == 400
    assert api.patch("/flows/rest_f", json={"description": "e"}).json()["description"] == "e"
    assert api.get("/flows/rest_f").json()["id"] == created.json()["id"]
    assert "rest_f" in [f["name"] for f in api.get("/flows", params={"limit": 1000}).json()["flows"]]
    assert api.delete("/flows/rest_f").status_code == 204
    gone = api.get("/flows/rest_f")
    assert gone.status_code == 404 and gone.json()["code"] == "FlowNotExists"
    assert api.put("/flows/rest_f", json={}).status_code == 405


def test_executions_callbacks_and_long_poll(api: httpx.Client) -> None:
    api.post("/flows", json={"name": "rest_p", "definition": PASS_FLOW})
    api.post("/flows", json={"name": "rest_cb", "definition": CALLBACK_FLOW})
    start = api.post("/flows/rest_p/executions", json={"name": "e1", "input": {"a": 1}})
    assert start.status_code == 201 and start.json()["input"] == {"a": 1}
    done = api.get("/flows/rest_p/executions/e1", params={"wait": 10}).json()
    assert done["status"] == "Succeeded" and done["output"] == {"x": 1}
    again = api.post("/flows/rest_p/executions", json={"name": "e1"})
    assert again.status_code == 400 and again.json()["code"] == "ExecutionAlreadyExists"
    history = api.get("/flows/rest_p/executions/e1/history", params={"limit": 2}).json()
    assert [e["event_id"] for e in history["events"]] == [1, 2] and history["next_token"] == "3"

    running = api.post("/flows/rest_cb/executions", json={"name": "e1"})
    assert running.status_code == 201
    assert api.post("/flows/rest_cb/executions", json={"name": "e1"}).status_code == 200  # idempotent
    token = wait_submitted(api, "rest_cb", "e1")
    result: dict[str, Any] = {}

    def poll() -> None:
        t = time.monotonic()
        result["r"] = api.get("/flows/rest_cb/executions/e1", params={"wait": 30}).json()
        result["s"] = time.monotonic() - t

    th = threading.Thread(target=poll)
    th.start()
    assert api.post("/tasks/succeeded", json={"token": token, "output": [1]}).status_code == 400
    ok = api.post("/tasks/succeeded", json={"token": token, "output": {"via": "rest"}})
    th.join(timeout=40)
    assert ok.status_code == 200 and isinstance(ok.json()["event_id"], int)
    assert result["r"]["status"] == "Succeeded" and result["r"]["output"] == {"via": "rest"}
    assert result["s"] < 10
    twice = api.post("/tasks/failed", json={"token": token, "error": "E"})
    assert twice.status_code == 400 and twice.json()["code"] == "TaskAlreadyCompleted"

    api.post("/flows/rest_cb/executions", json={"name": "e2"})
    wait_submitted(api, "rest_cb", "e2")
    assert api.post("/flows/rest_cb/executions/e2/stop", json={"error": "Halt"}).status_code == 200
    assert api.get("/flows/rest_cb/executions/e2", params={"wait": 10}).json()["status"] == "Stopped"
    listed = api.get("/flows/rest_cb/executions", params={"status": "Stopped"}).json()["executions"]
    assert [e["name"] for e in listed] == ["e2"]


def test_schedules(api: httpx.Client) -> None:
    api.post("/flows", json={"name": "rest_s", "definition": PASS_FLOW})
    created = api.post("/flows/rest_s/schedules", json={"name": "s1", "cron": "@every 5m", "payload": {"k": 1}})
    assert created.status_code == 201 and created.json()["payload"] == {"k": 1}
    assert created.json()["next_fire_time"].endswith("Z")
    bad = api.post("/flows/rest_s/schedules", json={"name": "s2", "cron": "0 0 0 31 2 *"})
    assert bad.status_code == 400 and bad.json()["code"] == "InvalidArgument"
    changed = api.patch("/flows/rest_s/schedules/s1", json={"enable": False}).json()
    assert changed["enable"] is False and changed["cron"] == "@every 5m"
    assert [s["name"] for s in api.get("/flows/rest_s/schedules").json()["schedules"]] == ["s1"]
    assert api.delete("/flows/rest_s/schedules/s1").status_code == 204
    assert api.get("/flows/rest_s/schedules/s1").json()["code"] == "ScheduleNotExists"
