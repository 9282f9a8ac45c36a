"""Every classic FnF action through both official SDKs against a real ``tidegate server``."""

# ruff: noqa: E501  (the scenarios are SDK call sequences, one call per line)

from __future__ import annotations

from typing import Any

import pytest

from tests.api.scenarios import CALLBACK_FLOW, HELPERS, PASS_FLOW
from tests.api.sdk import run_scenario
from tests.server import ServerProcess

SDKS = ["fnfcore", "fnftea"]


def _run(sdk: str, server: ServerProcess, body: str, **params: Any) -> dict[str, Any]:
    prelude = HELPERS + "".join(f"{k} = {v!r}\n" for k, v in params.items())
    return run_scenario(sdk, server.endpoint, prelude + body)


@pytest.mark.parametrize("sdk", SDKS)
def test_flows_crud_and_errors(sdk: str, server: ServerProcess) -> None:
    out = _run(
        sdk,
        server,
        """
names = [PREFIX + "f" + str(i) for i in range(3)]
for n in names:
    out.setdefault("create", []).append(call("CreateFlow", Name=n, Definition=PASS, Description="d", Type="FDL"))
out["dup"] = call("CreateFlow", Name=names[0], Definition=PASS, Description="d", Type="FDL")
out["bad"] = call("CreateFlow", Name=PREFIX + "bad", Definition="version: v1\\ntype: flow\\nsteps:\\n  - type: nope\\n    name: x\\n", Description="", Type="FDL")
out["describe"] = call("DescribeFlow", Name=names[1])
out["describe_post"] = call("DescribeFlow", Name=names[1], _method="POST")
out["update"] = call("UpdateFlow", Name=names[1], Description="changed")
out["page1"] = call("ListFlows", Limit=2)
out["page2"] = call("ListFlows", Limit=100, NextToken=out["page1"]["ok"]["NextToken"])
out["delete"] = call("DeleteFlow", Name=names[2])
out["gone"] = call("DescribeFlow", Name=names[2])
out["delete_gone"] = call("DeleteFlow", Name=names[2])
""",
        PREFIX=sdk + "_crud_",
        PASS=PASS_FLOW,
    )
    flow = out["create"][0]["ok"]
    assert flow["Name"] == f"{sdk}_crud_f0" and flow["Type"] == "FDL" and flow["Definition"] == PASS_FLOW
    assert flow["CreatedTime"].endswith("Z") and len(flow["CreatedTime"]) == 24
    assert out["dup"]["error"] == "FlowAlreadyExists" and out["dup"]["status"] == 409
    assert out["bad"]["error"] == "InvalidArgument" and out["bad"]["status"] == 400
    assert "Definition:4:" in out["bad"]["message"]  # the issue names the line
    assert out["describe"]["ok"]["Name"] == f"{sdk}_crud_f1"
    assert out["describe_post"]["ok"]["Id"] == out["describe"]["ok"]["Id"]
    assert out["update"]["ok"]["Description"] == "changed"
    assert out["update"]["ok"]["Definition"] == PASS_FLOW
    assert len(out["page1"]["ok"]["Flows"]) == 2
    listed = [f["Name"] for f in out["page1"]["ok"]["Flows"] + out["page2"]["ok"]["Flows"]]
    assert {f"{sdk}_crud_f{i}" for i in range(3)} <= set(listed) and len(listed) == len(set(listed))
    assert "ok" in out["delete"]
    assert out["gone"]["error"] == "FlowNotExists" and out["gone"]["status"] == 404
    assert out["delete_gone"]["error"] == "FlowNotExists"


@pytest.mark.parametrize("sdk", SDKS)
def test_executions_history_and_listing(sdk: str, server: ServerProcess) -> None:
    out = _run(
        sdk,
        server,
        """
call("CreateFlow", Name=FLOW, Definition=PASS, Description="", Type="FDL")
out["start"] = call("StartExecution", FlowName=FLOW, ExecutionName="e1", Input='{"a": 1}')
out["done"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="e1", WaitTimeSeconds=10)
out["again"] = call("StartExecution", FlowName=FLOW, ExecutionName="e1", Input='{"a": 1}')
out["noname"] = call("StartExecution", FlowName=FLOW)
out["badinput"] = call("StartExecution", FlowName=FLOW, ExecutionName="e2", Input="[1]")
out["noflow"] = call("StartExecution", FlowName=FLOW + "_missing", ExecutionName="e1")
out["noexec"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="missing")
for i in range(3):
    call("StartExecution", FlowName=FLOW, ExecutionName="run" + str(i))
out["h1"] = call("GetExecutionHistory", FlowName=FLOW, ExecutionName="e1", Limit=2)
out["h2"] = call("GetExecutionHistory", FlowName=FLOW, ExecutionName="e1", Limit=100, NextToken=out["h1"]["ok"]["NextToken"])
out["l1"] = call("ListExecutions", FlowName=FLOW, Limit=2)
out["l2"] = call("ListExecutions", FlowName=FLOW, Limit=50, NextToken=out["l1"]["ok"]["NextToken"])
out["prefix"] = call("ListExecutions", FlowName=FLOW, ExecutionNamePrefix="run")
out["status"] = call("ListExecutions", FlowName=FLOW, Status="Failed")
out["since"] = call("ListExecutions", FlowName=FLOW, StartedTimeBegin="2999-01-01T00:00:00Z")
out["get_start"] = call("StartExecution", FlowName=FLOW, ExecutionName="viaget", _method="GET")
""",
        FLOW=sdk + "_exec",
        PASS=PASS_FLOW,
    )
    start = out["start"]["ok"]
    assert start["Name"] == "e1" and start["Input"] == '{"a": 1}' and start["FlowDefinition"] == PASS_FLOW
    assert start["Status"] in ("Starting", "Running", "Succeeded")
    done = out["done"]["ok"]
    assert done["Status"] == "Succeeded" and done["Output"] == '{"x":1}' and done["StoppedTime"].endswith("Z")
    assert out["again"]["error"] == "ExecutionAlreadyExists" and out["again"]["status"] == 400
    assert len(out["noname"]["ok"]["Name"]) == 36  # a generated UUID
    assert out["badinput"]["error"] == "InvalidArgument"
    assert out["noflow"]["error"] == "FlowNotExists" and out["noflow"]["status"] == 404
    assert out["noexec"]["error"] == "ExecutionNotExists" and out["noexec"]["status"] == 404
    events = out["h1"]["ok"]["Events"] + out["h2"]["ok"]["Events"]
    assert [e["EventId"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["Type"] == "ExecutionStarted" and events[-1]["Type"] == "ExecutionSucceeded"
    assert "NextToken" not in out["h2"]["ok"] or not out["h2"]["ok"]["NextToken"]
    listed = [e["Name"] for e in out["l1"]["ok"]["Executions"] + out["l2"]["ok"]["Executions"]]
    assert len(out["l1"]["ok"]["Executions"]) == 2 and len(listed) == len(set(listed)) == 5
    assert sorted(e["Name"] for e in out["prefix"]["ok"]["Executions"]) == ["run0", "run1", "run2"]
    assert out["status"]["ok"]["Executions"] == []
    assert out["since"]["ok"]["Executions"] == []
    assert out["get_start"]["ok"]["Name"] == "viaget"


@pytest.mark.parametrize("sdk", SDKS)
def test_callbacks_stop_and_long_poll(sdk: str, server: ServerProcess) -> None:
    out = _run(
        sdk,
        server,
        """
import threading
call("CreateFlow", Name=FLOW, Definition=CB, Description="", Type="FDL")
# succeeded, while a long-poll waits
call("StartExecution", FlowName=FLOW, ExecutionName="ok")
tok = wait_token(FLOW, "ok")
t0 = time.monotonic()
out["short_poll"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="ok", WaitTimeSeconds=1)
out["short_poll_s"] = time.monotonic() - t0
res = {}
def poll():
    t = time.monotonic()
    res["r"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="ok", WaitTimeSeconds=30)
    res["s"] = time.monotonic() - t
th = threading.Thread(target=poll)
th.start()
out["badout"] = call("ReportTaskSucceeded", TaskToken=tok, Output="[1, 2]")
out["report"] = call("ReportTaskSucceeded", TaskToken=tok, Output='{"status": "done"}')
th.join()
out["long_poll"], out["long_poll_s"] = res["r"], res["s"]
out["twice"] = call("ReportTaskSucceeded", TaskToken=tok, Output='{"status": "done"}')
# failed
call("StartExecution", FlowName=FLOW, ExecutionName="bad")
tok2 = wait_token(FLOW, "bad")
out["fail"] = call("ReportTaskFailed", TaskToken=tok2, Error="MyError", Cause="because")
out["failed"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="bad", WaitTimeSeconds=10)
out["fail_twice"] = call("ReportTaskFailed", TaskToken=tok2, Error="MyError", Cause="x")
out["garbled"] = call("ReportTaskSucceeded", TaskToken="not-a-token", Output="{}")
# stopped
call("StartExecution", FlowName=FLOW, ExecutionName="stop")
tok3 = wait_token(FLOW, "stop")
out["stop"] = call("StopExecution", FlowName=FLOW, ExecutionName="stop", Error="Halt", Cause="test")
out["stopped"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="stop", WaitTimeSeconds=10)
out["after_stop"] = call("ReportTaskSucceeded", TaskToken=tok3, Output="{}")
out["stop_again"] = call("StopExecution", FlowName=FLOW, ExecutionName="stop")
out["history"] = call("GetExecutionHistory", FlowName=FLOW, ExecutionName="ok")
""",
        FLOW=sdk + "_cb",
        CB=CALLBACK_FLOW,
    )
    assert out["short_poll"]["ok"]["Status"] == "Running" and out["short_poll"]["ok"]["Output"] == ""
    assert out["short_poll_s"] >= 0.9
    assert out["badout"]["error"] == "InvalidArgument"
    assert isinstance(out["report"]["ok"]["EventId"], int)
    assert out["long_poll"]["ok"]["Status"] == "Succeeded"
    assert out["long_poll"]["ok"]["Output"] == '{"status":"done"}'
    assert out["long_poll_s"] < 10  # woken by the end, not by the 30 s timeout
    assert out["twice"]["error"] == "TaskAlreadyCompleted" and out["twice"]["status"] == 400
    assert isinstance(out["fail"]["ok"]["EventId"], int)
    assert out["failed"]["ok"]["Status"] == "Failed" and out["failed"]["ok"]["Output"] == ""
    assert out["fail_twice"]["error"] == "TaskAlreadyCompleted"
    assert out["garbled"]["error"] == "InvalidArgument" and out["garbled"]["status"] == 400
    assert out["stop"]["ok"]["Name"] == "stop"
    assert out["stopped"]["ok"]["Status"] == "Stopped"
    assert out["after_stop"]["error"] == "TaskAlreadyCompleted"
    assert out["stop_again"]["error"] == "InvalidArgument"
    types = [e["Type"] for e in out["history"]["ok"]["Events"]]
    assert "TaskSubmitted" in types and "TaskSucceeded" in types and types[-1] == "ExecutionSucceeded"


@pytest.mark.parametrize("sdk", SDKS)
def test_schedules(sdk: str, server: ServerProcess) -> None:
    out = _run(
        sdk,
        server,
        """
call("CreateFlow", Name=FLOW, Definition=PASS, Description="", Type="FDL")
out["create"] = call("CreateSchedule", FlowName=FLOW, ScheduleName="s1", CronExpression="0 0 4 * * *", Payload='{"k": 1}', Enable=True, Description="nightly")
call("CreateSchedule", FlowName=FLOW, ScheduleName="s2", CronExpression="@every 5m")
out["dup"] = call("CreateSchedule", FlowName=FLOW, ScheduleName="s1", CronExpression="@every 1m")
out["badcron"] = call("CreateSchedule", FlowName=FLOW, ScheduleName="s3", CronExpression="@every 30s")
out["noflow"] = call("CreateSchedule", FlowName=FLOW + "_missing", ScheduleName="s1", CronExpression="@every 1m")
out["describe"] = call("DescribeSchedule", FlowName=FLOW, ScheduleName="s1")
out["update"] = call("UpdateSchedule", FlowName=FLOW, ScheduleName="s1", CronExpression="CRON_TZ=Asia/Shanghai 0 30 4 ? * MON-FRI", Enable=False)
out["p1"] = call("ListSchedules", FlowName=FLOW, Limit=1)
out["p2"] = call("ListSchedules", FlowName=FLOW, Limit=10, NextToken=out["p1"]["ok"]["NextToken"])
out["delete"] = call("DeleteSchedule", FlowName=FLOW, ScheduleName="s2")
out["gone"] = call("DescribeSchedule", FlowName=FLOW, ScheduleName="s2")
""",
        FLOW=sdk + "_sched",
        PASS=PASS_FLOW,
    )
    s = out["create"]["ok"]
    assert s["ScheduleName"] == "s1" and s["CronExpression"] == "0 0 4 * * *" and s["Enable"] is True
    assert s["Payload"] == '{"k": 1}' and s["Description"] == "nightly" and s["ScheduleId"]
    assert out["dup"]["error"] == "ScheduleAlreadyExists" and out["dup"]["status"] == 409
    assert out["badcron"]["error"] == "InvalidArgument"
    assert out["noflow"]["error"] == "FlowNotExists"
    assert out["describe"]["ok"]["ScheduleId"] == s["ScheduleId"]
    assert out["update"]["ok"]["Enable"] is False
    assert out["update"]["ok"]["CronExpression"].startswith("CRON_TZ=Asia/Shanghai")
    names = [x["ScheduleName"] for x in out["p1"]["ok"]["Schedules"] + out["p2"]["ok"]["Schedules"]]
    assert names == ["s1", "s2"]
    assert "ok" in out["delete"]
    assert out["gone"]["error"] == "ScheduleNotExists" and out["gone"]["status"] == 404
