"""The JSON REST API under ``/api/v1/``: the workflow operations for people, scripts and the console.

Same operations as the RPC protocol (both call :class:`~tidegate.runtime.service.WorkflowService`), with
JSON values instead of JSON-in-strings and snake_case names. Authentication is HTTP Basic with an
AccessKey (``curl -u ID:SECRET``); a temporary key adds its token in ``X-Tidegate-Security-Token``.
Errors are ``{"code", "message", "request_id"}`` with the status of the shared mapping
(:func:`tidegate.api.rpc_errors.rpc_error`). The OpenAPI document is at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from tidegate.api.body import MAX_BODY, read_body
from tidegate.api.context import AppContext
from tidegate.api.ids import new_request_id
from tidegate.api.permissions import Where, authorize, request_context
from tidegate.api.permissions_rest import REST_NEEDS, RestNeeds
from tidegate.api.rest_openapi import openapi_document
from tidegate.api.rest_render import event_doc, execution_doc, flow_doc, node_doc, schedule_doc, waiting_task_doc
from tidegate.api.rpc_errors import EntityTooLarge, rpc_error
from tidegate.api.rpc_params import Params
from tidegate.auth.keys import AccessKey
from tidegate.errors import AuthError, NotFoundError
from tidegate.jsontext import MAX_DEPTH, compact
from tidegate.jsontext import parse as parse_json
from tidegate.runtime.service import InvalidArgument, WorkflowService

__all__ = [
    "PREFIX",
    "REST_TABLE",
    "Unauthorized",
    "authenticate",
    "authorize_rest",
    "error_response",
    "method_dispatch",
    "respond",
    "rest_routes",
]

PREFIX = "/api/v1"
TOKEN_HEADER = "x-tidegate-security-token"

Handler = Callable[[WorkflowService, Request, dict[str, Any]], Any]


class Unauthorized(AuthError):
    """The request needs valid credentials (HTTP Basic: AccessKey ID and secret)."""

    code = "Unauthorized"


# --- request helpers -----------------------------------------------------------------------------


def _get(body: dict[str, Any], name: str, kind: type | tuple[type, ...], required: bool = False) -> Any:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidArgument(f"The field {name!r} is required.")
        return None
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise InvalidArgument(f"The field {name!r} has the wrong type.")
    return value


def _object_text(body: dict[str, Any], name: str) -> str | None:
    value = _get(body, name, dict)
    return None if value is None else compact(value)


def _check_fields(body: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidArgument(f"Unknown fields: {', '.join(unknown)[:200]}.")
    return body


async def _json_body(request: Request) -> dict[str, Any]:
    if request.method in ("GET", "DELETE"):
        return {}
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        raise EntityTooLarge(MAX_BODY)
    if not raw.strip():
        return {}
    # Values nested in the body (an execution's input) keep MAX_DEPTH levels of their own.
    body = parse_json(raw, "The body", max_depth=MAX_DEPTH + 1)
    if not isinstance(body, dict):
        raise InvalidArgument("The body must be a JSON object.")
    return body


def authenticate(ctx: AppContext, request: Request) -> AccessKey:
    """The AccessKey of a request's HTTP Basic credentials (with its token for a temporary key).

    Raises:
        Unauthorized: no, malformed or wrong credentials.
    """
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise Unauthorized()
    try:
        key_id, sep, secret = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("The Authorization header is malformed.") from None
    try:
        key = ctx.keyring.resolve(key_id, request.headers.get(TOKEN_HEADER), ctx.clock() / 1000)
    except AuthError as exc:
        raise Unauthorized(exc.message) from None
    if not sep or not hmac.compare_digest(key.secret.encode(), secret.encode()):
        raise Unauthorized("The AccessKey secret is wrong.")
    return key


def authorize_rest(ctx: AppContext, request: Request, key: AccessKey, needs: RestNeeds, body: dict[str, Any]) -> None:
    """Raise AccessDenied unless the key's principal has every permission the route needs (root: at once)."""
    principal = ctx.authorizer.principal(key)
    if principal.is_root:
        return
    wanted = needs(Where.of(ctx.authorizer), request.path_params, request.query_params, body)
    authorize(ctx.authorizer, principal, wanted, request_context(request.scope, ctx.clock()))


# --- handlers (blocking; run in worker threads) --------------------------------------------------


def list_flows(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    q = Params(req.query_params)
    page = svc.list_flows(q.int("limit", 60, 1, 1000), q.opt("next_token"))
    return {"flows": [flow_doc(f) for f in page.items], "next_token": page.next_token}


def create_flow(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"name", "definition", "description", "type", "role_arn"})
    flow = svc.create_flow(
        _get(body, "name", str, True),
        _get(body, "definition", str, True),
        description=_get(body, "description", str) or "",
        flow_type=_get(body, "type", str) or "FDL",
        role_arn=_get(body, "role_arn", str) or "",
    )
    return 201, flow_doc(flow)


def get_flow(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    return flow_doc(svc.describe_flow(req.path_params["flow"]))


def update_flow(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"definition", "description", "type", "role_arn"})
    flow = svc.update_flow(
        req.path_params["flow"],
        definition=_get(body, "definition", str),
        description=_get(body, "description", str),
        flow_type=_get(body, "type", str),
        role_arn=_get(body, "role_arn", str),
    )
    return flow_doc(flow)


def delete_flow(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    svc.delete_flow(req.path_params["flow"])
    return 204, None


def list_executions(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    q = Params(req.query_params)
    page = svc.list_executions(
        req.path_params["flow"],
        status=q.opt("status"),
        name_prefix=q.opt("name_prefix"),
        started_from_ms=q.time_ms("started_after"),
        started_to_ms=q.time_ms("started_before"),
        limit=q.int("limit", 60, 1, 1000),
        next_token=q.opt("next_token"),
    )
    return {"executions": [execution_doc(e) for e in page.items], "next_token": page.next_token}


def start_execution(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"name", "input", "callback_token"})
    record, created = svc.start_execution(
        req.path_params["flow"],
        _get(body, "name", str),
        _object_text(body, "input"),
        _get(body, "callback_token", str),
    )
    return (201 if created else 200), execution_doc(record)


def get_execution(svc: WorkflowService, req: Request, body: dict[str, Any], deadline: float | None = None) -> Any:
    record = svc.describe_execution(
        req.path_params["flow"], req.path_params["execution"], _wait(req), deadline=deadline
    )
    return execution_doc(record)


def stop_execution(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"error", "cause"})
    record = svc.stop_execution(
        req.path_params["flow"],
        req.path_params["execution"],
        _get(body, "error", str) or "",
        _get(body, "cause", str) or "",
    )
    return execution_doc(record)


def history(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    q = Params(req.query_params)
    rows, token = svc.get_history(
        req.path_params["flow"], req.path_params["execution"], q.int("limit", 100, 1, 1000), q.opt("next_token")
    )
    return {"events": [event_doc(r) for r in rows], "next_token": token}


def task_succeeded(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"token", "output"})
    output = _object_text(body, "output")
    if output is None:
        raise InvalidArgument("The field 'output' is required and must be a JSON object.")
    return {"event_id": svc.report_task_succeeded(_get(body, "token", str, True), output)}


def task_failed(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"token", "error", "cause"})
    event_id = svc.report_task_failed(
        _get(body, "token", str, True), _get(body, "error", str, True), _get(body, "cause", str) or ""
    )
    return {"event_id": event_id}


def task_heartbeat(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"token"})
    svc.report_task_heartbeat(_get(body, "token", str, True))
    return 204, None


#: The one status the task listing knows: waiting on a callback.
WAITING = "waiting"


def list_tasks(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    q = Params(req.query_params)
    status = q.opt("status") or WAITING
    if status != WAITING:
        raise InvalidArgument(f"The status {status[:40]!r} is not supported: the tasks listed are the {WAITING} ones.")
    page = svc.list_waiting_tasks(
        flow_name=q.opt("flow"),
        sort=q.opt("sort") or "age",
        limit=q.int("limit", 100, 1, 1000),
        next_token=q.opt("next_token"),
    )
    now = svc.clock()
    return {"tasks": [waiting_task_doc(t, now) for t in page.items], "next_token": page.next_token}


def waiting_task_succeeded(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"output"})
    output = _object_text(body, "output")
    if output is None:
        raise InvalidArgument("The field 'output' is required and must be a JSON object.")
    p = req.path_params
    return {"event_id": svc.complete_waiting_task(p["flow"], p["execution"], p["task"], output)}


def waiting_task_failed(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"error", "cause"})
    p = req.path_params
    event_id = svc.fail_waiting_task(
        p["flow"], p["execution"], p["task"], _get(body, "error", str, True), _get(body, "cause", str) or ""
    )
    return {"event_id": event_id}


def list_schedules(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    q = Params(req.query_params)
    page = svc.list_schedules(req.path_params["flow"], q.int("limit", 60, 1, 1000), q.opt("next_token"))
    return {"schedules": [schedule_doc(s) for s in page.items], "next_token": page.next_token}


def create_schedule(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"name", "cron", "payload", "enable", "description"})
    enable = _get(body, "enable", bool)
    record = svc.create_schedule(
        req.path_params["flow"],
        _get(body, "name", str, True),
        _get(body, "cron", str, True),
        payload=_object_text(body, "payload") or "",
        enable=True if enable is None else enable,
        description=_get(body, "description", str) or "",
    )
    return 201, schedule_doc(record)


def get_schedule(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    return schedule_doc(svc.describe_schedule(req.path_params["flow"], req.path_params["schedule"]))


def update_schedule(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    _check_fields(body, {"cron", "payload", "enable", "description"})
    record = svc.update_schedule(
        req.path_params["flow"],
        req.path_params["schedule"],
        cron=_get(body, "cron", str),
        payload=_object_text(body, "payload"),
        enable=_get(body, "enable", bool),
        description=_get(body, "description", str),
    )
    return schedule_doc(record)


def delete_schedule(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    svc.delete_schedule(req.path_params["flow"], req.path_params["schedule"])
    return 204, None


def list_nodes(svc: WorkflowService, req: Request, body: dict[str, Any]) -> Any:
    """The servers sharing the store (docs/runtime.md, Several servers), oldest start first."""
    now = svc.clock()
    return {"nodes": [node_doc(n, now) for n in svc.store.list_nodes()]}


def _wait(req: Request) -> int:
    return Params(req.query_params).int("wait", 0, 0, 60)


# --- wiring --------------------------------------------------------------------------------------


def respond(result: Any, request_id: str) -> Response:
    """A handler's result (``doc`` or ``(status, doc)``; ``doc`` None means no body) as a response."""
    status, doc = result if isinstance(result, tuple) else (200, result)
    headers = {"x-tidegate-request-id": request_id}
    if doc is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(doc, status_code=status, headers=headers)


def error_response(exc: BaseException, request_id: str) -> JSONResponse:
    """Any exception as the REST error document ``{"code", "message", "request_id"}`` (shared mapping)."""
    status, code, message = rpc_error(exc)
    headers = {"x-tidegate-request-id": request_id}
    if status == 401:
        headers["www-authenticate"] = 'Basic realm="tidegate"'
    return JSONResponse(
        {"code": code, "message": message, "request_id": request_id}, status_code=status, headers=headers
    )


def _endpoint(ctx: AppContext, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    needs = REST_NEEDS[handler.__name__]  # a route without an entry fails here, when the app is built

    async def endpoint(request: Request) -> Response:
        request_id = new_request_id()
        try:
            key = authenticate(ctx, request)
            body = await _json_body(request)
            authorize_rest(ctx, request, key, needs, body)
            if handler is get_execution and (wait := _wait(request)) > 0:
                deadline = time.monotonic() + wait
                call = partial(get_execution, ctx.service, request, body, deadline)
                result = await anyio.to_thread.run_sync(call, limiter=ctx.long_poll_limiter())
            else:
                result = await run_in_threadpool(handler, ctx.service, request, body)
            return respond(result, request_id)  # rendering can fail too: it is answered (and logged) the same way
        except Exception as exc:  # the one place REST errors become responses
            return error_response(exc, request_id)

    return endpoint


async def _openapi(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document())


#: Every workflow route of the REST API: path under ``/api/v1``, methods, handler.
REST_TABLE: list[tuple[str, list[str], Handler]] = [
    ("/flows", ["GET"], list_flows),
    ("/flows", ["POST"], create_flow),
    ("/flows/{flow}", ["GET"], get_flow),
    ("/flows/{flow}", ["PATCH"], update_flow),
    ("/flows/{flow}", ["DELETE"], delete_flow),
    ("/flows/{flow}/executions", ["GET"], list_executions),
    ("/flows/{flow}/executions", ["POST"], start_execution),
    ("/flows/{flow}/executions/{execution}", ["GET"], get_execution),
    ("/flows/{flow}/executions/{execution}/stop", ["POST"], stop_execution),
    ("/flows/{flow}/executions/{execution}/history", ["GET"], history),
    ("/flows/{flow}/schedules", ["GET"], list_schedules),
    ("/flows/{flow}/schedules", ["POST"], create_schedule),
    ("/flows/{flow}/schedules/{schedule}", ["GET"], get_schedule),
    ("/flows/{flow}/schedules/{schedule}", ["PATCH"], update_schedule),
    ("/flows/{flow}/schedules/{schedule}", ["DELETE"], delete_schedule),
    ("/flows/{flow}/executions/{execution}/tasks/{task}/succeeded", ["POST"], waiting_task_succeeded),
    ("/flows/{flow}/executions/{execution}/tasks/{task}/failed", ["POST"], waiting_task_failed),
    ("/tasks", ["GET"], list_tasks),
    ("/tasks/succeeded", ["POST"], task_succeeded),
    ("/tasks/failed", ["POST"], task_failed),
    ("/tasks/heartbeat", ["POST"], task_heartbeat),
    ("/nodes", ["GET"], list_nodes),
]


def rest_routes(ctx: AppContext) -> list[BaseRoute]:
    """The routes of the REST API, bound to ``ctx``."""
    # One Route per path with a method dispatcher, so that a wrong method answers 405, not 404.
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for path, methods, handler in REST_TABLE:
        for method in methods:
            by_path.setdefault(path, {})[method] = _endpoint(ctx, handler)
    routes: list[BaseRoute] = [Route(f"{PREFIX}/openapi.json", _openapi, methods=["GET"])]
    for path, handlers in by_path.items():
        routes.append(Route(PREFIX + path, method_dispatch(handlers), methods=sorted(handlers)))
    return routes


class NoSuchPath(NotFoundError):
    """A path under ``/api/v1`` that is no REST resource."""

    code = "NotFound"


def not_found_default(fallback: ASGIApp) -> ASGIApp:
    """The router's default (no route matched, not even by path): an unknown ``/api/v1/...`` path answers the
    REST error document (404 ``NotFound``), any other path ``fallback`` (Starlette's plain 404)."""

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope["path"]).startswith(PREFIX + "/"):
            path = str(scope["path"])[:200]
            response = error_response(NoSuchPath(f"No REST resource is at {path}."), new_request_id())
            await response(scope, receive, send)
        else:
            await fallback(scope, receive, send)

    return default


async def _not_allowed(request: Request) -> Response:
    return Response(status_code=405)


def method_dispatch(
    handlers: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    """One endpoint for a path's per-method handlers: HEAD runs GET's, a method without one answers 405."""

    async def endpoint(request: Request) -> Response:
        # Starlette adds HEAD to GET routes; answer it with the GET handler.
        return await handlers.get(request.method, handlers.get("GET", _not_allowed))(request)

    return endpoint
