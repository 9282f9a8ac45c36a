"""Hostile JSON and numbers sent with both official FnF SDKs to a real server: 400 InvalidArgument, no traceback
in the server's log, and the server (and the waiting task) still working afterwards."""

# ruff: noqa: E501  (the scenario is an SDK call sequence, one call per line)

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.scenarios import CALLBACK_FLOW, HELPERS, PASS_FLOW
from tests.api.sdk import run_scenario
from tests.server import ServerProcess

#: What a client can put in Input, Output or Payload, each refused with a message naming the problem.
BAD = {
    "surrogate": ('{"a":"\\ud800"}', "lone UTF-16 surrogate"),
    "nan": ('{"a":NaN,"b":1}', "NaN is not a JSON number"),
    "infinity": ('{"b":Infinity}', "Infinity is not a JSON number"),
    "overflow": ('{"c":-1e400}', "out of range"),
    "deep": ("[" * 5000 + "]" * 5000, "nested deeper than 64 levels"),
}
HUGE = "99999999999999999999999"


@pytest.mark.parametrize("sdk", ["fnfcore", "fnftea"])
def test_hostile_values_are_400_and_leave_no_trace(sdk: str, server: ServerProcess) -> None:
    log_start = len(server.log())
    prelude = HELPERS + "".join(
        f"{k} = {v!r}\n"
        for k, v in {
            "P": sdk + "_edge_",
            "BAD": {k: text for k, (text, _) in BAD.items()},
            "PASS": PASS_FLOW,
            "CB": CALLBACK_FLOW,
            "HUGE": HUGE,
        }.items()
    )
    out: dict[str, Any] = run_scenario(
        sdk,
        server.endpoint,
        prelude
        + """
call("CreateFlow", Name=P + "pass", Definition=PASS, Description="", Type="FDL")
call("CreateFlow", Name=P + "cb", Definition=CB, Description="", Type="FDL")
for key, text in BAD.items():
    out["start_" + key] = call("StartExecution", FlowName=P + "pass", ExecutionName=P + key, Input=text)
    out["schedule_" + key] = call("CreateSchedule", FlowName=P + "pass", ScheduleName=key, CronExpression="@every 1m", Payload=text)
call("StartExecution", FlowName=P + "cb", ExecutionName="run", Input="{}")
token = wait_token(P + "cb", "run")
for key, text in BAD.items():
    out["report_" + key] = call("ReportTaskSucceeded", TaskToken=token, Output=text)
out["report_ok"] = call("ReportTaskSucceeded", TaskToken=token, Output='{"done": true}')
out["final"] = call("DescribeExecution", FlowName=P + "cb", ExecutionName="run", WaitTimeSeconds=20)
out["listed"] = call("ListExecutions", FlowName=P + "pass")
out["next_token"] = call("ListExecutions", FlowName=P + "pass", NextToken=HUGE + ".1")
out["limit"] = call("ListExecutions", FlowName=P + "pass", Limit=int(HUGE))
out["history_token"] = call("GetExecutionHistory", FlowName=P + "cb", ExecutionName="run", NextToken=HUGE)
out["wait"] = call("DescribeExecution", FlowName=P + "cb", ExecutionName="run", WaitTimeSeconds=int(HUGE))
""",
    )
    for key, (_, message) in BAD.items():
        for action in ("start", "schedule", "report"):
            answer = out[f"{action}_{key}"]
            assert (answer.get("error"), answer.get("status")) == ("InvalidArgument", 400), (action, key, answer)
            assert message in answer["message"], (action, key, answer)
    assert out["listed"]["ok"].get("Executions", []) == []  # no execution was started with a bad input
    assert isinstance(out["report_ok"]["ok"]["EventId"], int)  # the task stayed open for a good report
    assert out["final"]["ok"]["Status"] == "Succeeded" and out["final"]["ok"]["Output"] == '{"done":true}'
    for key, message in [
        ("next_token", "NextToken"),
        ("limit", "Limit"),
        ("history_token", "NextToken"),
        ("wait", "WaitTimeSeconds"),
    ]:
        answer = out[key]
        assert (answer.get("error"), answer.get("status")) == ("InvalidArgument", 400), (key, answer)
        assert message in answer["message"], (key, answer)
    log = server.log()[log_start:]
    assert "Traceback" not in log and "internal error" not in log and "UnicodeEncodeError" not in log, log[-3000:]
    assert httpx.get(server.url + "/healthz", timeout=5).status_code == 200
