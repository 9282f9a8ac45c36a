"""Heartbeats (RPC through the official core SDK, and REST), the waiting-tasks list and operator reports, and
``tidegate server --callback-timeout``, against real servers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.scenarios import CALLBACK_FLOW, HELPERS, write_functions
from tests.api.sdk import run_scenario
from tests.api.test_rest import AUTH, wait_submitted
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until

HEARTBEAT_FLOW = CALLBACK_FLOW.replace(
    "    pattern: waitForCallback\n", "    pattern: waitForCallback\n    heartbeatSeconds: 60\n"
)

CAUGHT_FLOW = (
    CALLBACK_FLOW
    + """    errorMappings:
      - {target: cause, source: $local.cause}
    catch:
      - errors: [FnF.TaskTimeout]
        goto: caught
  - {type: succeed, name: done}
  - {type: pass, name: caught}
"""
)


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/api/v1", auth=AUTH, timeout=40) as client:
        yield client


def test_rpc_report_task_heartbeat_through_the_core_sdk(server: ServerProcess) -> None:
    scenario = (
        HELPERS
        + """
from aliyunsdkcore.request import CommonRequest

def heartbeat(token):
    req = CommonRequest(version="2019-03-15", action_name="ReportTaskHeartbeat", product="fnf")
    req.set_endpoint(os.environ["ENDPOINT"])
    req.add_query_param("TaskToken", token)
    try:
        return {"ok": json.loads(client.do_action_with_exception(req))}
    except ServerException as e:
        return {"error": e.get_error_code(), "status": e.get_http_status()}

call("CreateFlow", Name="hb_rpc", Definition=FLOW, Description="", Type="FDL")
call("StartExecution", FlowName="hb_rpc", ExecutionName="one")
tok = wait_token("hb_rpc", "one")
out["beat"] = heartbeat(tok)
out["history"] = call("GetExecutionHistory", FlowName="hb_rpc", ExecutionName="one")
out["report"] = call("ReportTaskSucceeded", TaskToken=tok, Output="{}")
out["late"] = heartbeat(tok)
out["garbled"] = heartbeat("not-a-token")
"""
    )
    out = run_scenario("fnfcore", server.endpoint, scenario.replace("FLOW", repr(HEARTBEAT_FLOW), 1))
    assert set(out["beat"]["ok"]) == {"RequestId"}
    assert [e["Type"] for e in out["history"]["ok"]["Events"]][-1] == "TaskSubmitted"  # no event for a heartbeat
    assert isinstance(out["report"]["ok"]["EventId"], int)
    assert out["late"] == {"error": "TaskAlreadyCompleted", "status": 400}
    assert out["garbled"] == {"error": "InvalidArgument", "status": 400}


def test_rest_waiting_list_heartbeat_and_operator_reports(api: httpx.Client) -> None:
    assert api.post("/flows", json={"name": "hb_rest", "definition": HEARTBEAT_FLOW}).status_code == 201
    for name in ("a", "b", "c"):
        assert api.post("/flows/hb_rest/executions", json={"name": name}).status_code == 201
    tokens = {name: wait_submitted(api, "hb_rest", name) for name in ("a", "b", "c")}
    assert api.post("/tasks/heartbeat", json={"token": tokens["b"]}).status_code == 204

    def listed(**params: str) -> list[dict[str, object]]:
        r = api.get("/tasks", params={"flow": "hb_rest", **params})
        assert r.status_code == 200, r.text
        return list(r.json()["tasks"])

    oldest = wait_until(lambda: listed() if len(listed()) == 3 else None, message="three waiting tasks")
    assert [t["execution_name"] for t in oldest] == ["a", "b", "c"]
    assert [t["execution_name"] for t in listed(sort="-age")] == ["c", "b", "a"]
    b = oldest[1]
    assert b["step_name"] == "t" and b["pattern"] == "waitForCallback" and b["heartbeat_seconds"] == 60
    assert b["last_heartbeat"] is not None and oldest[0]["last_heartbeat"] is None and b["deadline"] is not None
    page = api.get("/tasks", params={"flow": "hb_rest", "limit": 2}).json()
    rest = api.get("/tasks", params={"flow": "hb_rest", "limit": 2, "next_token": page["next_token"]}).json()
    assert [t["execution_name"] for t in page["tasks"] + rest["tasks"]] == ["a", "b", "c"]

    path = f"/flows/hb_rest/executions/a/tasks/{oldest[0]['task']}"
    done = api.post(path + "/succeeded", json={"output": {"by": "operator"}})
    assert done.status_code == 200 and isinstance(done.json()["event_id"], int)
    again = api.post(path + "/failed", json={"error": "Operator", "cause": "no"})
    assert again.status_code == 400 and again.json()["code"] == "TaskAlreadyCompleted"
    failed = api.post(f"/flows/hb_rest/executions/c/tasks/{oldest[2]['task']}/failed", json={"error": "Operator"})
    assert failed.status_code == 200
    a = api.get("/flows/hb_rest/executions/a", params={"wait": 10}).json()
    c = api.get("/flows/hb_rest/executions/c", params={"wait": 10}).json()
    assert (a["status"], a["output"]) == ("Succeeded", {"by": "operator"})
    assert (c["status"], c["error"]) == ("Failed", "Operator")
    assert [t["execution_name"] for t in listed()] == ["b"]
    beat_done = api.post("/tasks/heartbeat", json={"token": tokens["a"]})
    assert beat_done.status_code == 400 and beat_done.json()["code"] == "TaskAlreadyCompleted"


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "message"),
    [
        ("GET", "/tasks", None, {"status": "done"}, "not supported"),
        ("GET", "/tasks", None, {"sort": "name"}, "sort"),
        ("GET", "/tasks", None, {"next_token": "1:x:2"}, "NextToken"),
        ("GET", "/tasks", None, {"limit": "0"}, "limit"),
        ("GET", "/tasks", None, {"flow": "no such/flow"}, "flow name"),
        ("POST", "/tasks/heartbeat", {}, None, "token"),
        ("POST", "/tasks/heartbeat", {"token": "x", "colour": 1}, None, "Unknown fields"),
        ("POST", "/tasks/heartbeat", {"token": "garbled"}, None, "not valid"),
        ("POST", "/flows/hb_rest/executions/a/tasks/x.1/succeeded", {"output": {}}, None, "task"),
        ("POST", "/flows/hb_rest/executions/a/tasks/2.1/succeeded", {"output": [1]}, None, "output"),
        ("POST", "/flows/hb_rest/executions/a/tasks/2.1/failed", {"error": ""}, None, "error"),
    ],
)
def test_hostile_task_requests_answer_invalid_argument(
    api: httpx.Client, method: str, path: str, body: object, params: dict[str, str] | None, message: str
) -> None:
    r = api.request(method, path, json=body, params=params)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "InvalidArgument" and message in r.json()["message"]


def test_server_callback_timeout_ends_a_callback_through_its_catch(tmp_path: Path) -> None:
    functions = write_functions(tmp_path / "functions")
    srv = ServerProcess(
        tmp_path / "data", env=TEST_KEYS, args=["--functions", str(functions), "--callback-timeout", "2"]
    )
    srv.start()
    try:
        with httpx.Client(base_url=srv.url + "/api/v1", auth=AUTH, timeout=40) as api:
            assert api.post("/flows", json={"name": "cb", "definition": CAUGHT_FLOW}).status_code == 201
            assert api.post("/flows/cb/executions", json={"name": "e"}).status_code == 201
            ended = wait_until(
                lambda: (
                    (d := api.get("/flows/cb/executions/e", params={"wait": 5}).json())["status"] != "Running" and d
                ),
                timeout=60,
                message="the callback to reach the server's default timeout",
            )
            events = api.get("/flows/cb/executions/e/history").json()["events"]
    finally:
        srv.stop()
    assert ended["status"] == "Succeeded" and "default callback timeout" in ended["output"]["cause"]
    assert "caught" in [e["step_name"] for e in events if e["type"] == "StepEntered"]
    assert json.dumps(ended["output"]).count("2 seconds") == 1
