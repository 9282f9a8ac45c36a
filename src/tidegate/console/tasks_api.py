"""Console endpoints for the tasks waiting on a callback (thin: they call :class:`WorkflowService`).

The waiting-tasks page lists them across flows and lets an operator report one succeeded (with an output)
or failed (with an error and a cause), as a worker would with its token.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tidegate.api.rest_render import waiting_task_doc
from tidegate.api.rpc_params import Params
from tidegate.console.web import ConsoleServices, Invalid
from tidegate.jsontext import compact

__all__ = ["TASK_ROUTES"]


def list_tasks(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """The waiting tasks, oldest first (``sort=-age``: newest first), optionally of one ``flow``."""
    q = Params(req.query_params)
    page = s.ctx.service.list_waiting_tasks(
        flow_name=q.opt("flow"),
        sort=q.opt("sort") or "age",
        limit=q.int("limit", 50, 1, 500),
        next_token=q.opt("next_token"),
    )
    now = s.ctx.clock()
    return {"tasks": [waiting_task_doc(t, now) for t in page.items], "next_token": page.next_token}


def waiting_task_succeeded(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Report a waiting task succeeded: ``{"output": object}``."""
    output = body.get("output", {})
    if not isinstance(output, dict):
        raise Invalid("The output must be a JSON object.")
    p = req.path_params
    return {"event_id": s.ctx.service.complete_waiting_task(p["flow"], p["execution"], p["task"], compact(output))}


def waiting_task_failed(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Report a waiting task failed: ``{"error": str, "cause"?: str}``."""
    error, cause = body.get("error"), body.get("cause") or ""
    if not isinstance(error, str) or not isinstance(cause, str):
        raise Invalid("The error and the cause must be strings.")
    p = req.path_params
    return {"event_id": s.ctx.service.fail_waiting_task(p["flow"], p["execution"], p["task"], error, cause)}


_T = "/flows/{flow}/executions/{execution}/tasks/{task}"
TASK_ROUTES = [
    ("/tasks", "GET", list_tasks),
    (_T + "/succeeded", "POST", waiting_task_succeeded),
    (_T + "/failed", "POST", waiting_task_failed),
]
