"""The OpenAPI 3.1 document of the REST API (``GET /api/v1/openapi.json``), written out by hand."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from tidegate.status import ExecutionStatus

__all__ = ["openapi_document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    return out


_S = {"type": "string"}
_T = {"type": "string", "format": "date-time"}
_NT = {"type": ["string", "null"], "format": "date-time"}
_ANY: dict[str, Any] = {}
_JSON_OBJ = {"type": "object"}

SCHEMAS: dict[str, Any] = {
    "Flow": _obj(
        {
            "name": _S,
            "id": _S,
            "definition": _S,
            "description": _S,
            "type": {"const": "FDL"},
            "role_arn": _S,
            "created_time": _T,
            "last_modified_time": _T,
        }
    ),
    "Execution": _obj(
        {
            "name": _S,
            "flow_name": _S,
            "status": {"enum": [s.value for s in ExecutionStatus]},
            "input": _JSON_OBJ,
            "output": {"type": ["object", "null"]},
            "error": {"type": ["string", "null"]},
            "cause": {"type": ["string", "null"]},
            "started_time": _T,
            "stopped_time": _NT,
            "definition": _S,
        }
    ),
    "Event": _obj(
        {
            "event_id": {"type": "integer"},
            "schedule_event_id": {"type": "integer"},
            "type": _S,
            "step_name": _S,
            "time": _T,
            "detail": _JSON_OBJ,
        }
    ),
    "Schedule": _obj(
        {
            "name": _S,
            "id": _S,
            "flow_name": _S,
            "cron": _S,
            "payload": _JSON_OBJ,
            "enable": {"type": "boolean"},
            "description": _S,
            "created_time": _T,
            "last_modified_time": _T,
            "next_fire_time": _NT,
        }
    ),
    "Node": _obj(
        {
            "id": _S,
            "address": _S,
            "version": _S,
            "host": _S,
            "pid": {"type": "integer"},
            "state": {"enum": ["live", "dead", "stopped"]},
            "started_time": _T,
            "last_seen_time": _T,
            "last_seen_age_ms": {"type": "integer"},
            "released_time": _NT,
            "stopped_time": _NT,
        }
    ),
    "Error": _obj({"code": _S, "message": _S, "request_id": _S}, ("code", "message", "request_id")),
    "NewFlow": _obj(
        {"name": _S, "definition": _S, "description": _S, "type": {"const": "FDL"}, "role_arn": _S},
        ("name", "definition"),
    ),
    "FlowChanges": _obj({"definition": _S, "description": _S, "type": {"const": "FDL"}, "role_arn": _S}),
    "NewExecution": _obj({"name": _S, "input": _JSON_OBJ, "callback_token": _S}),
    "Stop": _obj({"error": _S, "cause": _S}),
    "TaskSucceeded": _obj({"token": _S, "output": _JSON_OBJ}, ("token", "output")),
    "TaskFailed": _obj({"token": _S, "error": _S, "cause": _S}, ("token", "error")),
    "TaskHeartbeat": _obj({"token": _S}, ("token",)),
    "WaitingTask": _obj(
        {
            "flow_name": _S,
            "execution_name": _S,
            "task": _S,
            "step_name": {"type": ["string", "null"]},
            "resource": {"type": ["string", "null"]},
            "pattern": {"type": ["string", "null"]},
            "attempt": {"type": ["integer", "null"]},
            "waiting_since": _T,
            "age_seconds": {"type": "integer"},
            "heartbeat_seconds": {"type": ["integer", "null"]},
            "last_heartbeat": _NT,
            "deadline": _NT,
        }
    ),
    "OperatorSucceeded": _obj({"output": _JSON_OBJ}, ("output",)),
    "OperatorFailed": _obj({"error": _S, "cause": _S}, ("error",)),
    "NewSchedule": _obj(
        {"name": _S, "cron": _S, "payload": _JSON_OBJ, "enable": {"type": "boolean"}, "description": _S},
        ("name", "cron"),
    ),
    "ScheduleChanges": _obj({"cron": _S, "payload": _JSON_OBJ, "enable": {"type": "boolean"}, "description": _S}),
}


def _page(key: str, item: str) -> dict[str, Any]:
    return _obj({key: {"type": "array", "items": _ref(item)}, "next_token": {"type": ["string", "null"]}})


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _p(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _S}


def _op(
    summary: str,
    status: int,
    response: dict[str, Any] | None,
    body: str | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        str(status): {"description": "OK"}
        if response is None
        else {"description": "OK", "content": {"application/json": {"schema": response}}},
        "default": {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}},
    }
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return op


_PAGING = [_q("limit", {"type": "integer", "minimum": 1, "maximum": 1000}), _q("next_token", _S)]
_F, _E, _SC = _p("flow"), _p("execution"), _p("schedule")


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document (built once)."""
    paths: dict[str, Any] = {
        "/api/v1/flows": {
            "get": _op("List flows", 200, _page("flows", "Flow"), params=_PAGING),
            "post": _op("Create a flow", 201, _ref("Flow"), "NewFlow"),
        },
        "/api/v1/flows/{flow}": {
            "get": _op("Describe a flow", 200, _ref("Flow"), params=[_F]),
            "patch": _op("Update a flow", 200, _ref("Flow"), "FlowChanges", [_F]),
            "delete": _op("Delete a flow and its schedules", 204, None, params=[_F]),
        },
        "/api/v1/flows/{flow}/executions": {
            "get": _op(
                "List executions",
                200,
                _page("executions", "Execution"),
                params=[
                    _F,
                    *_PAGING,
                    _q("status", _S),
                    _q("name_prefix", _S),
                    _q("started_after", _T),
                    _q("started_before", _T),
                ],
            ),
            "post": _op(
                "Start an execution (201; 200 with the running one of the same name)",
                201,
                _ref("Execution"),
                "NewExecution",
                [_F],
            ),
        },
        "/api/v1/flows/{flow}/executions/{execution}": {
            "get": _op(
                "Describe an execution",
                200,
                _ref("Execution"),
                params=[_F, _E, _q("wait", {"type": "integer", "minimum": 0, "maximum": 60}, "long-poll s")],
            ),
        },
        "/api/v1/flows/{flow}/executions/{execution}/stop": {
            "post": _op("Stop an execution", 200, _ref("Execution"), "Stop", [_F, _E]),
        },
        "/api/v1/flows/{flow}/executions/{execution}/history": {
            "get": _op("Execution history", 200, _page("events", "Event"), params=[_F, _E, *_PAGING]),
        },
        "/api/v1/flows/{flow}/schedules": {
            "get": _op("List schedules", 200, _page("schedules", "Schedule"), params=[_F, *_PAGING]),
            "post": _op("Create a schedule", 201, _ref("Schedule"), "NewSchedule", [_F]),
        },
        "/api/v1/flows/{flow}/schedules/{schedule}": {
            "get": _op("Describe a schedule", 200, _ref("Schedule"), params=[_F, _SC]),
            "patch": _op("Update a schedule", 200, _ref("Schedule"), "ScheduleChanges", [_F, _SC]),
            "delete": _op("Delete a schedule", 204, None, params=[_F, _SC]),
        },
        "/api/v1/tasks/succeeded": {
            "post": _op(
                "Report a waiting task's output",
                200,
                _obj({"event_id": {"type": "integer"}}),
                "TaskSucceeded",
            ),
        },
        "/api/v1/tasks/failed": {
            "post": _op("Report a waiting task's error", 200, _obj({"event_id": {"type": "integer"}}), "TaskFailed"),
        },
        "/api/v1/tasks/heartbeat": {
            "post": _op("Report that a waiting task's worker is still at it", 204, None, "TaskHeartbeat"),
        },
        "/api/v1/tasks": {
            "get": _op(
                "List the tasks waiting on a callback, across flows",
                200,
                _page("tasks", "WaitingTask"),
                params=[
                    *_PAGING,
                    _q("status", {"const": "waiting"}),
                    _q("sort", {"enum": ["age", "-age"]}, "age: oldest first; -age: newest first"),
                    _q("flow", _S),
                ],
            ),
        },
        "/api/v1/flows/{flow}/executions/{execution}/tasks/{task}/succeeded": {
            "post": _op(
                "An operator completes a waiting task",
                200,
                _obj({"event_id": {"type": "integer"}}),
                "OperatorSucceeded",
                [_F, _E, _p("task")],
            ),
        },
        "/api/v1/flows/{flow}/executions/{execution}/tasks/{task}/failed": {
            "post": _op(
                "An operator fails a waiting task",
                200,
                _obj({"event_id": {"type": "integer"}}),
                "OperatorFailed",
                [_F, _E, _p("task")],
            ),
        },
        "/api/v1/nodes": {
            "get": _op("The servers sharing the store", 200, _obj({"nodes": {"type": "array", "items": _ref("Node")}})),
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "tidegate workflow API", "version": "1"},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        },
        "security": [{"basic": []}],
        "paths": paths,
    }
