"""``/api/v1/functions``: deployed functions in the REST API (what ``tidegate deploy`` calls).

* ``GET /api/v1/functions[?service=S]`` → ``{"functions": [doc…]}``
* ``PUT /api/v1/functions/{service}/{function}`` with ``{"code_dir", "handler", "kind", "timeout",
  "memory", "env", "initializer", "http_trigger": {"methods": […]} | null, "requirements": […],
  "description"}`` → ``{"function": doc, "result": "created" | "updated" | "unchanged"}`` (201 when
  created). Requirements are installed with pip before the answer (it can take a while the first time).
* ``GET`` / ``DELETE /api/v1/functions/{service}/{function}`` (404 ``FunctionNotExists``). A function's
  document carries its service's role as ``service_role`` ("" for none). ``http_trigger`` takes
  ``auth_type``: ``anonymous`` (default) or ``function``.
* ``GET /api/v1/services`` → ``{"services": [doc…]}``; ``PUT /api/v1/services/{service}`` with ``{"role":
  ARN | "", "description"}`` → ``{"service": doc, "result": …}`` (201 when created); ``GET`` / ``DELETE
  /api/v1/services/{service}`` (404 ``ServiceNotExists``). The role must be of this account and trust
  ``fc.aliyuncs.com``; setting it needs ``ram:PassRole`` on it.
* ``GET /api/v1/identity`` → ``{"region", "account_id", "endpoint"}``: what deploy files refer to
  symbolically (queue endpoints ``acs:mns:REGION:ACCOUNT:queues/Q``, trigger URLs under ``endpoint``).

Authentication and errors are those of the rest of the REST API (HTTP Basic with an AccessKey).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tidegate.api.context import AppContext
from tidegate.api.ids import new_request_id
from tidegate.api.permissions_rest import FUNCTION_NEEDS
from tidegate.api.rest import PREFIX, _json_body, authenticate, authorize_rest, error_response, respond
from tidegate.deploy.errors import FunctionNotExists, InvalidFunction, ServiceNotExists
from tidegate.deploy.host import FunctionHost
from tidegate.deploy.registry import FunctionRecord, ServiceRecord, check_function_name, trigger_auth

__all__ = ["FUNCTION_TABLE", "function_routes", "record_from_body"]

_FIELDS = {
    "code_dir",
    "handler",
    "kind",
    "timeout",
    "memory",
    "env",
    "initializer",
    "http_trigger",
    "requirements",
    "description",
}
Handler = Callable[[FunctionHost, Request, dict[str, Any]], Any]


def _typed(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InvalidFunction(f"The field {name!r} has the wrong type.")
    return value


def record_from_body(service: str, name: str, body: dict[str, Any]) -> FunctionRecord:
    """Build a record from a PUT body (validated by the registry afterwards).

    Raises:
        InvalidFunction: an unknown field or a field of the wrong type.
    """
    unknown = sorted(set(body) - _FIELDS)
    if unknown:
        raise InvalidFunction(f"Unknown fields: {', '.join(unknown)[:200]}.")
    code_dir = _typed(body, "code_dir", str, None)
    if code_dir is None:
        raise InvalidFunction("The field 'code_dir' is required.")
    trigger = body.get("http_trigger")
    if trigger is not None and not isinstance(trigger, dict | bool):
        raise InvalidFunction("The field 'http_trigger' must be an object, true or null.")
    if isinstance(trigger, dict):
        unknown = sorted(set(trigger) - {"methods", "auth_type"})
        if unknown:
            raise InvalidFunction(f"Unknown fields of 'http_trigger': {', '.join(unknown)[:200]}.")
    methods = _typed(trigger, "methods", list, []) if isinstance(trigger, dict) else []
    auth = _typed(trigger, "auth_type", str, "anonymous") if isinstance(trigger, dict) else "anonymous"
    env = _typed(body, "env", dict, {})
    requirements = _typed(body, "requirements", list, [])
    try:
        timeout_s = float(_typed(body, "timeout", (int, float), 60))
    except OverflowError:  # an integer beyond a double; the registry checks the range of the others
        raise InvalidFunction("timeout must be between 1 and 86400 seconds.") from None
    return FunctionRecord(
        service=check_function_name(service, "service"),
        name=check_function_name(name),
        code_dir=code_dir,
        handler=_typed(body, "handler", str, "index.handler"),
        kind=_typed(body, "kind", str, "event"),
        timeout_s=timeout_s,
        memory_mb=_typed(body, "memory", int, 128),
        env={str(k): v if isinstance(v, str) else str(v) for k, v in env.items()},
        initializer=_typed(body, "initializer", str, None),
        http_trigger=bool(trigger),
        http_methods=tuple(str(m) for m in methods),
        http_auth=trigger_auth(auth, "http_trigger.auth_type"),
        requirements=tuple(str(r) for r in requirements),
        description=_typed(body, "description", str, ""),
    )


def _key(req: Request) -> tuple[str, str]:
    return req.path_params["service"], req.path_params["function"]


def _doc(record: FunctionRecord, roles: dict[str, str]) -> dict[str, Any]:
    return record.to_doc() | {"service_role": roles.get(record.service, "")}


def list_functions(host: FunctionHost, req: Request, body: dict[str, Any]) -> Any:
    service = req.query_params.get("service")
    roles = {s.name: s.role for s in host.registry.list_services()}
    return {"functions": [_doc(r, roles) for r in host.registry.list_functions(service)]}


def put_function(host: FunctionHost, req: Request, body: dict[str, Any]) -> Any:
    service, name = _key(req)
    record, result = host.deploy(record_from_body(service, name, body))
    return (201 if result == "created" else 200), {"function": _doc(record, _roles(host, service)), "result": result}


def _roles(host: FunctionHost, service: str) -> dict[str, str]:
    found = host.registry.get_service(service)
    return {service: found.role} if found is not None else {}


def get_function(host: FunctionHost, req: Request, body: dict[str, Any]) -> Any:
    record = host.registry.get(*_key(req))
    if record is None:
        raise FunctionNotExists(f"function {'/'.join(_key(req))} does not exist")
    return _doc(record, _roles(host, record.service))


def delete_function(host: FunctionHost, req: Request, body: dict[str, Any]) -> Any:
    if not host.registry.delete(*_key(req)):
        raise FunctionNotExists(f"function {'/'.join(_key(req))} does not exist")
    return 204, None


def list_services(host: FunctionHost, req: Request, body: dict[str, Any]) -> Any:
    return {"services": [s.to_doc() for s in host.registry.list_services()]}


def put_service(host: FunctionHost, req: Request, body: dict[str, Any]) -> Any:
    unknown = sorted(set(body) - {"role", "description"})
    if unknown:
        raise InvalidFunction(f"Unknown fields: {', '.join(unknown)[:200]}.")
    name = check_function_name(req.path_params["service"], "service")
    record = ServiceRecord(
        name=name, role=_typed(body, "role", str, ""), description=_typed(body, "description", str, "")
    )
    if len(record.description) > 1024:
        raise InvalidFunction("description must be at most 1024 characters.")
    stored, result = host.put_service(record)
    return (201 if result == "created" else 200), {"service": stored.to_doc(), "result": result}


def get_service(host: FunctionHost, req: Request, body: dict[str, Any]) -> Any:
    found = host.registry.get_service(req.path_params["service"])
    if found is None:
        raise ServiceNotExists(f"service {req.path_params['service'][:128]} does not exist")
    return found.to_doc()


def delete_service(host: FunctionHost, req: Request, body: dict[str, Any]) -> Any:
    if not host.delete_service(req.path_params["service"]):
        raise ServiceNotExists(f"service {req.path_params['service'][:128]} does not exist")
    return 204, None


def identity(host: FunctionHost, req: Request, body: dict[str, Any]) -> Any:
    return {"region": host.region, "account_id": host.account_id, "endpoint": host.public_url}


def _endpoint(
    ctx: AppContext, host: FunctionHost, by_method: dict[str, Handler]
) -> Callable[[Request], Awaitable[Response]]:
    needs = {method: FUNCTION_NEEDS[h.__name__] for method, h in by_method.items()}  # checked when built

    async def endpoint(request: Request) -> Response:
        request_id = new_request_id()
        handler = by_method.get(request.method) or by_method.get("GET" if request.method == "HEAD" else "")
        if handler is None:
            return Response(status_code=405, headers={"x-tidegate-request-id": request_id})
        try:
            key = authenticate(ctx, request)
            body = await _json_body(request)
            authorize_rest(ctx, request, key, needs[request.method if request.method != "HEAD" else "GET"], body)
            result = await run_in_threadpool(handler, host, request, body)
        except Exception as exc:  # the REST API's error shape, from the shared mapping
            return error_response(exc, request_id)
        return respond(result, request_id)

    return endpoint


#: The routes: path under ``/api/v1`` and handler by method.
FUNCTION_TABLE: list[tuple[str, dict[str, Handler]]] = [
    ("/functions", {"GET": list_functions}),
    ("/functions/{service}/{function}", {"GET": get_function, "PUT": put_function, "DELETE": delete_function}),
    ("/services", {"GET": list_services}),
    ("/services/{service}", {"GET": get_service, "PUT": put_service, "DELETE": delete_service}),
    ("/identity", {"GET": identity}),
]


def function_routes(ctx: AppContext, host: FunctionHost) -> list[BaseRoute]:
    """The ``/api/v1/functions``, ``/api/v1/services`` and ``/api/v1/identity`` routes."""
    return [Route(PREFIX + path, _endpoint(ctx, host, h), methods=sorted(h)) for path, h in FUNCTION_TABLE]
