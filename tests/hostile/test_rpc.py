"""The RPC protocol (``/`` with signed parameters) under generated and known-bad inputs."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from tests.api.scenarios import CALLBACK_FLOW
from tests.hostile.harness import PASS_FLOW, Hostile, Protocol, hostile_settings, wait_ended, wait_token
from tests.hostile.values import (
    BIG_INT,
    CONTROL_TEXT,
    DEEP_JSON,
    DEEP_OBJECT,
    HUGE_INT,
    LONE_SURROGATE,
    NAN_INFINITY,
    hostile_text,
    int_text,
    json_text,
)

ACTIONS = [
    "CreateFlow",
    "UpdateFlow",
    "DeleteFlow",
    "DescribeFlow",
    "ListFlows",
    "StartExecution",
    "StopExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
    "ReportTaskSucceeded",
    "ReportTaskFailed",
    "CreateSchedule",
    "UpdateSchedule",
    "DeleteSchedule",
    "DescribeSchedule",
    "ListSchedules",
]

names = st.one_of(st.sampled_from(["hf", "hcb", "e1", "s1"]), hostile_text)
# Values 1-60 would make DescribeExecution really wait: keep the generated waits short or invalid.
waits = st.sampled_from(["", "0", "1", "-1", "61", "1e11", "abc", "9" * 40, "%FF", "1.5", " 1"])
PARAMS: dict[str, st.SearchStrategy[str]] = {
    "Name": names,
    "FlowName": names,
    "ExecutionName": names,
    "ScheduleName": names,
    "Definition": st.one_of(st.sampled_from([PASS_FLOW, CALLBACK_FLOW, DEEP_JSON]), hostile_text),
    "Description": hostile_text,
    "Type": st.sampled_from(["FDL", "DEFAULT", "Express", "", "x"]),
    "RoleArn": hostile_text,
    "Input": json_text,
    "Output": json_text,
    "Payload": json_text,
    "TaskToken": hostile_text,
    "Error": hostile_text,
    "Cause": hostile_text,
    "Limit": int_text,
    "NextToken": hostile_text,
    "WaitTimeSeconds": waits,
    "Status": st.one_of(st.sampled_from(["Running", "Succeeded", "Sleeping"]), hostile_text),
    "CronExpression": st.one_of(
        st.sampled_from(["0 * * * * *", "@every 1m", "CRON_TZ=../../etc/passwd 0 * * * * *"]), hostile_text
    ),
    "Enable": st.sampled_from(["true", "false", "", "yes"]),
    "StartedTimeBegin": hostile_text,
    "ExecutionNamePrefix": hostile_text,
    "RequestId": hostile_text,
    "CallbackFnFTaskToken": hostile_text,
}


def prepare(h: Hostile) -> None:
    """A pass flow ``hf`` with one execution ``e1`` and a callback flow ``hcb``."""
    h.rpc_ok({"Action": "CreateFlow", "Name": "hf", "Definition": PASS_FLOW, "Description": "", "Type": "FDL"})
    h.rpc_ok({"Action": "CreateFlow", "Name": "hcb", "Definition": CALLBACK_FLOW, "Description": "", "Type": "FDL"})
    h.rpc_ok({"Action": "StartExecution", "FlowName": "hf", "ExecutionName": "e1", "Input": "{}"})


@hostile_settings(80)
@given(
    action=st.one_of(st.sampled_from(ACTIONS), hostile_text),
    params=st.dictionaries(st.sampled_from(sorted(PARAMS)), st.just(None), max_size=6).flatmap(
        lambda keys: st.fixed_dictionaries({k: PARAMS[k] for k in keys})
    ),
    method=st.sampled_from(["GET", "POST"]),
)
@example(action="ListFlows", params={"Limit": "9" * 40}, method="GET")
@example(action="ListExecutions", params={"FlowName": "hf", "NextToken": "%FF"}, method="GET")
@example(action="CreateFlow", params={"Name": "deep", "Definition": DEEP_JSON}, method="POST")
@example(
    action="DescribeExecution", params={"FlowName": "hf", "ExecutionName": "e1", "WaitTimeSeconds": "-1"}, method="GET"
)
@example(
    action="CreateSchedule",
    params={"FlowName": "hf", "ScheduleName": "s", "CronExpression": "CRON_TZ=../../etc/passwd 0 * * * * *"},
    method="POST",
)
@example(action="AssumeRole", params={}, method="GET")
def test_any_action_any_parameters(hostile: Hostile, action: str, params: dict[str, str], method: str) -> None:
    if not hostile.prepared:
        prepare(hostile)
        hostile.prepared = True
    r = hostile.rpc({**params, "Action": action}, method)
    hostile.check(r, Protocol.RPC, (action, params, method))
    assert "RequestId" in r.json()


@hostile_settings(60)
@given(input_text=json_text, method=st.sampled_from(["GET", "POST"]))
@example(input_text=LONE_SURROGATE, method="POST")
@example(input_text=NAN_INFINITY, method="POST")
@example(input_text=DEEP_JSON, method="POST")
@example(input_text=DEEP_OBJECT, method="POST")
@example(input_text=HUGE_INT, method="POST")
@example(input_text=BIG_INT, method="POST")
@example(input_text=CONTROL_TEXT, method="POST")
def test_start_execution_input(hostile: Hostile, input_text: str, method: str) -> None:
    if not hostile.prepared:
        prepare(hostile)
        hostile.prepared = True
    hostile.counter += 1
    name = f"x{hostile.counter}"
    if method == "GET" and len(input_text) > 16_000:
        method = "POST"  # encoded into a query string it would pass the client's URL limit (64 KiB), not ours
    r = hostile.rpc({"Action": "StartExecution", "FlowName": "hf", "ExecutionName": name, "Input": input_text}, method)
    hostile.check(r, Protocol.RPC, input_text)
    if r.status_code == 200:
        wait_ended(hostile, "hf", name, input_text)
        hostile.check_quiet(input_text)


@hostile_settings(40)
@given(output=json_text)
@example(output=LONE_SURROGATE)
@example(output=NAN_INFINITY)
@example(output=DEEP_JSON)
@example(output=HUGE_INT)
@example(output=CONTROL_TEXT)
def test_report_task_succeeded_output(hostile: Hostile, output: str) -> None:
    if not hostile.prepared:
        prepare(hostile)
        hostile.prepared = True
    hostile.counter += 1
    name = f"cb{hostile.counter}"
    hostile.rpc_ok({"Action": "StartExecution", "FlowName": "hcb", "ExecutionName": name, "Input": "{}"})
    token = wait_token(hostile, "hcb", name)
    r = hostile.rpc({"Action": "ReportTaskSucceeded", "TaskToken": token, "Output": output}, "POST")
    hostile.check(r, Protocol.RPC, output)
    if r.status_code == 200:
        wait_ended(hostile, "hcb", name, output)
        hostile.check_quiet(output)
    else:  # refused: the task is still open and an ordinary report completes it
        ok = hostile.rpc({"Action": "ReportTaskSucceeded", "TaskToken": token, "Output": "{}"}, "POST")
        assert ok.status_code == 200, ok.text
        assert wait_ended(hostile, "hcb", name, output)["Status"] == "Succeeded"
