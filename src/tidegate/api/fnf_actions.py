"""The classic FnF actions (docs/api.md): thin, blocking functions ``(service, params) -> response dict``.

Each validates only the wire shape (required names, integers, booleans) and calls
:class:`~tidegate.runtime.service.WorkflowService`; the dispatcher runs them in a worker thread.
``DescribeExecution`` with a wait is dispatched separately (see :mod:`tidegate.api.fnf_rpc`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tidegate.api.fnf_render import execution_json, flow_json, history_json, schedule_json
from tidegate.api.rpc_params import Params
from tidegate.runtime.service import WorkflowService

__all__ = ["ACTIONS", "Action"]

Action = Callable[[WorkflowService, Params], dict[str, Any]]


def _page(key: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {key: items}
    if token:
        out["NextToken"] = token
    return out


# --- flows ---------------------------------------------------------------------------------------


def create_flow(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """CreateFlow."""
    flow = svc.create_flow(
        p.req("Name"),
        p.req("Definition"),
        description=p.text("Description"),
        flow_type=p.text("Type", "FDL"),
        role_arn=p.text("RoleArn"),
    )
    return flow_json(flow)


def update_flow(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """UpdateFlow."""
    flow = svc.update_flow(
        p.req("Name"),
        definition=p.opt("Definition") or None,
        description=p.opt("Description"),
        flow_type=p.opt("Type") or None,
        role_arn=p.opt("RoleArn"),
    )
    return flow_json(flow)


def delete_flow(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """DeleteFlow."""
    svc.delete_flow(p.req("Name"))
    return {}


def describe_flow(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """DescribeFlow."""
    return flow_json(svc.describe_flow(p.req("Name")))


def list_flows(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """ListFlows."""
    page = svc.list_flows(p.int("Limit", 60, 1, 1000), p.opt("NextToken"))
    return _page("Flows", [flow_json(f) for f in page.items], page.next_token)


# --- executions ----------------------------------------------------------------------------------


def start_execution(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """StartExecution (idempotent by name while the execution runs)."""
    record, _ = svc.start_execution(
        p.req("FlowName"), p.opt("ExecutionName") or None, p.opt("Input"), p.opt("CallbackFnFTaskToken")
    )
    return execution_json(record)


def stop_execution(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """StopExecution: the execution as of the call."""
    record = svc.stop_execution(p.req("FlowName"), p.req("ExecutionName"), p.text("Error"), p.text("Cause"))
    return execution_json(record)


def wait_seconds(p: Params) -> int:
    """DescribeExecution's ``WaitTimeSeconds`` (0-60)."""
    return p.int("WaitTimeSeconds", 0, 0, 60)


def describe_execution(svc: WorkflowService, p: Params, deadline: float | None = None) -> dict[str, Any]:
    """DescribeExecution, long-polling until ``deadline`` (``time.monotonic()``) when given."""
    record = svc.describe_execution(p.req("FlowName"), p.req("ExecutionName"), wait_seconds(p), deadline=deadline)
    return execution_json(record)


def list_executions(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """ListExecutions with its filters."""
    page = svc.list_executions(
        p.req("FlowName"),
        status=p.opt("Status") or None,
        name_prefix=p.opt("ExecutionNamePrefix") or None,
        started_from_ms=p.time_ms("StartedTimeBegin"),
        started_to_ms=p.time_ms("StartedTimeEnd"),
        limit=p.int("Limit", 60, 1, 1000),
        next_token=p.opt("NextToken"),
    )
    return _page("Executions", [execution_json(e) for e in page.items], page.next_token)


def get_execution_history(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """GetExecutionHistory, paged by event id."""
    rows, token = svc.get_history(
        p.req("FlowName"), p.req("ExecutionName"), p.int("Limit", 60, 1, 1000), p.opt("NextToken")
    )
    return _page("Events", [history_json(r) for r in rows], token)


def report_task_succeeded(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """ReportTaskSucceeded."""
    return {"EventId": svc.report_task_succeeded(p.req("TaskToken"), p.req("Output"))}


def report_task_failed(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """ReportTaskFailed."""
    return {"EventId": svc.report_task_failed(p.req("TaskToken"), p.req("Error"), p.text("Cause"))}


def report_task_heartbeat(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """ReportTaskHeartbeat (a tidegate extension): the worker is still at the task; no event is written."""
    svc.report_task_heartbeat(p.req("TaskToken"))
    return {}


# --- schedules -----------------------------------------------------------------------------------


def create_schedule(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """CreateSchedule."""
    enable = p.bool("Enable")
    record = svc.create_schedule(
        p.req("FlowName"),
        p.req("ScheduleName"),
        p.req("CronExpression"),
        payload=p.text("Payload"),
        enable=True if enable is None else enable,
        description=p.text("Description"),
    )
    return schedule_json(record)


def update_schedule(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """UpdateSchedule."""
    record = svc.update_schedule(
        p.req("FlowName"),
        p.req("ScheduleName"),
        cron=p.opt("CronExpression") or None,
        payload=p.opt("Payload"),
        enable=p.bool("Enable"),
        description=p.opt("Description"),
    )
    return schedule_json(record)


def delete_schedule(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """DeleteSchedule."""
    svc.delete_schedule(p.req("FlowName"), p.req("ScheduleName"))
    return {}


def describe_schedule(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """DescribeSchedule."""
    return schedule_json(svc.describe_schedule(p.req("FlowName"), p.req("ScheduleName")))


def list_schedules(svc: WorkflowService, p: Params) -> dict[str, Any]:
    """ListSchedules."""
    page = svc.list_schedules(p.req("FlowName"), p.int("Limit", 60, 1, 1000), p.opt("NextToken"))
    return _page("Schedules", [schedule_json(s) for s in page.items], page.next_token)


ACTIONS: dict[str, Action] = {
    "CreateFlow": create_flow,
    "UpdateFlow": update_flow,
    "DeleteFlow": delete_flow,
    "DescribeFlow": describe_flow,
    "ListFlows": list_flows,
    "StartExecution": start_execution,
    "StopExecution": stop_execution,
    "DescribeExecution": describe_execution,
    "ListExecutions": list_executions,
    "GetExecutionHistory": get_execution_history,
    "ReportTaskSucceeded": report_task_succeeded,
    "ReportTaskFailed": report_task_failed,
    "ReportTaskHeartbeat": report_task_heartbeat,
    "CreateSchedule": create_schedule,
    "UpdateSchedule": update_schedule,
    "DeleteSchedule": delete_schedule,
    "DescribeSchedule": describe_schedule,
    "ListSchedules": list_schedules,
}
