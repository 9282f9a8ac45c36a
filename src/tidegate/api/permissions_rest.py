"""The REST API's routes and their RAM actions: the same actions as the RPC and MNS equivalents (docs/auth.md).

Keyed by the name of the route's handler in :mod:`tidegate.api.rest` and :mod:`tidegate.api.rest_functions`;
a need function reads the route's path parameters and the request's JSON body (already parsed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tidegate.api.permissions import (
    Need,
    Needs,
    Where,
    execution_need,
    flow_need,
    pass_role_needs,
    schedule_need,
    task_need,
)
from tidegate.ram import arns

__all__ = ["FUNCTION_NEEDS", "METRICS_NEED", "REST_NEEDS", "RestNeeds"]

Path = Mapping[str, str]
Body = Mapping[str, Any]
#: ``(where, path parameters, query parameters, body) -> needs``.
RestNeeds = Callable[[Where, Path, Path, Body], Needs]


def _text(body: Body, name: str) -> str | None:
    value = body.get(name)
    return value if isinstance(value, str) else None


def _flow(action: str) -> RestNeeds:
    return lambda w, path, q, body: [flow_need(w, action, path["flow"])]


def _execution(action: str) -> RestNeeds:
    return lambda w, path, q, body: [execution_need(w, action, path["flow"], path["execution"])]


def _schedule(action: str) -> RestNeeds:
    return lambda w, path, q, body: [schedule_need(w, action, path["flow"], path["schedule"])]


def _task(action: str) -> RestNeeds:
    return lambda w, path, q, body: [task_need(w, action, _text(body, "token"))]


#: Every REST workflow route's handler and what it needs.
REST_NEEDS: Mapping[str, RestNeeds] = {
    "list_flows": lambda w, path, q, body: [flow_need(w, "ListFlows", "*")],
    "create_flow": lambda w, path, q, body: [
        flow_need(w, "CreateFlow", _text(body, "name") or ""),
        *pass_role_needs(w, _text(body, "role_arn")),
    ],
    "get_flow": _flow("DescribeFlow"),
    "update_flow": lambda w, path, q, body: [
        flow_need(w, "UpdateFlow", path["flow"]),
        *pass_role_needs(w, _text(body, "role_arn")),
    ],
    "delete_flow": _flow("DeleteFlow"),
    "list_executions": lambda w, path, q, body: [execution_need(w, "ListExecutions", path["flow"])],
    "start_execution": lambda w, path, q, body: [
        execution_need(w, "StartExecution", path["flow"], _text(body, "name"))
    ],
    "get_execution": _execution("DescribeExecution"),
    "stop_execution": _execution("StopExecution"),
    "history": _execution("GetExecutionHistory"),
    "task_succeeded": _task("ReportTaskSucceeded"),
    "task_failed": _task("ReportTaskFailed"),
    "task_heartbeat": _task("ReportTaskHeartbeat"),
    # The tasks waiting on a callback: a listing of executions' tasks (every flow's without ?flow=), and
    # the operator's reports on the execution the path names (what the token would name).
    "list_tasks": lambda w, path, q, body: [execution_need(w, "ListExecutions", q.get("flow") or "*")],
    "waiting_task_succeeded": _execution("ReportTaskSucceeded"),
    "waiting_task_failed": _execution("ReportTaskFailed"),
    "list_schedules": lambda w, path, q, body: [schedule_need(w, "ListSchedules", path["flow"])],
    "create_schedule": lambda w, path, q, body: [schedule_need(w, "CreateSchedule", path["flow"], _text(body, "name"))],
    "get_schedule": _schedule("DescribeSchedule"),
    "update_schedule": _schedule("UpdateSchedule"),
    "delete_schedule": _schedule("DeleteSchedule"),
    # The servers sharing the store (ids, addresses, hosts, heartbeats): operators' information.
    "list_nodes": lambda w, path, q, body: [Need("tidegate:ListNodes", "*")],
}


def _function(action: str) -> RestNeeds:
    return lambda w, path, q, body: [
        Need(f"fc:{action}", arns.fc_function(w.region, w.account, path["service"], path["function"]))
    ]


def _put_function(w: Where, path: Path, q: Path, body: Body) -> Needs:
    # A PUT deploys: it creates the function or updates it (and its HTTP trigger), so it needs both.
    arn = arns.fc_function(w.region, w.account, path["service"], path["function"])
    return [Need("fc:CreateFunction", arn), Need("fc:UpdateFunction", arn)]


def _service(action: str) -> RestNeeds:
    return lambda w, path, q, body: [Need(f"fc:{action}", arns.fc_service(w.region, w.account, path["service"]))]


def _put_service(w: Where, path: Path, q: Path, body: Body) -> Needs:
    # Creates or updates the service; setting its role passes the role to Function Compute.
    arn = arns.fc_service(w.region, w.account, path["service"])
    return [Need("fc:CreateService", arn), Need("fc:UpdateService", arn), *pass_role_needs(w, _text(body, "role"))]


#: Every ``/api/v1/functions``, ``/api/v1/services`` and ``/api/v1/identity`` route's handler and what it needs.
FUNCTION_NEEDS: Mapping[str, RestNeeds] = {
    "list_functions": lambda w, path, q, body: [
        Need("fc:ListFunctions", arns.fc_functions(w.region, w.account, q.get("service") or "*"))
    ],
    "put_function": _put_function,
    "get_function": _function("GetFunction"),
    "delete_function": _function("DeleteFunction"),
    "list_services": lambda w, path, q, body: [Need("fc:ListServices", arns.fc_service(w.region, w.account, "*"))],
    "put_service": _put_service,
    "get_service": _service("GetService"),
    "delete_service": _service("DeleteService"),
    # The server's region, account id and URL: any authenticated identity may read them (as STS's
    # GetCallerIdentity needs no permission).
    "identity": lambda w, path, q, body: [],
}

#: ``GET /metrics`` read with a key other than the root key (docs/operations.md, Metrics).
METRICS_NEED = Need("tidegate:GetMetrics", "*")
