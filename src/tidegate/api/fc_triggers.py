"""HTTP triggers: ``/2016-08-15/proxy/SERVICE[.QUALIFIER]/FUNCTION/…`` runs a deployed WSGI function.

The path shape is Function Compute's HTTP-trigger URL, so an MNS subscription, a browser or curl can call
a function the way they would call it on FC. A trigger's ``authType`` (FC's) says who may call it:
``anonymous`` (the second source document's trigger) lets whoever reaches the port call it; ``function``
needs a request signed as Function Compute's API signs it (:mod:`tidegate.auth.fc_signature`) with an
AccessKey whose identity may ``fc:InvokeFunction`` on the function. The function gets ``PATH_INFO`` = the
path below the prefix, the full request URI in ``environ['fc.request_uri']``, the headers, the query and
the body, and ``environ['fc.context']`` with ``request_id``, ``region``, ``account_id``, ``function`` and
the ``credentials`` of its service's role (empty when the service has none).

Every answer carries ``X-Fc-Request-Id``. With ``X-Fc-Log-Type: Tail`` the answer of an invocation also
carries ``X-Fc-Log-Result``, the base64 of the last 4 KiB of the function's output (``None``, the default,
leaves it out), as Function Compute does.

Errors have FC's API error body ``{"ErrorCode", "ErrorMessage"}``: 400 ``InvalidArgument`` (an
``X-Fc-Log-Type`` other than ``Tail`` or ``None``), 404 ``FunctionNotFound`` (no such deployed function, or
it has no HTTP trigger), 405 ``MethodNotAllowed``, 413 ``RequestEntityTooLarge``; a ``function`` trigger
refuses with 403: ``AccessDenied`` (no Date or Authorization, or the identity may not invoke the
function), ``RequestTimeTooSkewed``, ``SignatureNotMatch``, ``InvalidAccessKeyId``,
``InvalidSecurityToken.*``, ``InvalidAuthorizationHeader``. A function that raises answers 502 with the FC
error document (see docs/functions.md).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tidegate.api.body import read_body
from tidegate.api.context import AppContext
from tidegate.auth.errors import InvalidDateHeader, MissingAuthorizationHeader
from tidegate.auth.fc_signature import (
    SECURITY_TOKEN_HEADER,
    fc_string_to_sign,
    parse_fc_authorization,
    signature_matches,
)
from tidegate.auth.signatures import MAX_SKEW_S, content_md5_ok, parse_http_date
from tidegate.deploy.host import FunctionHost
from tidegate.deploy.registry import HTTP_METHODS, FunctionRecord, TriggerAuth
from tidegate.errors import AuthError, TidegateError
from tidegate.functions import FunctionSpec, HttpRequest, log_tail
from tidegate.ram import arns
from tidegate.ram.service_roles import RoleNotUsable

__all__ = ["LOG_TYPE", "MAX_BODY", "PREFIX", "trigger_routes"]

PREFIX = "/2016-08-15/proxy"
#: Function Compute's limit on a synchronous HTTP request body.
MAX_BODY = 6 * 1024 * 1024
# Framing headers are the server's business: the body is sent whole with its own length. The request id
# and the log tail are the platform's: a function cannot set them.
_NOT_FROM_FUNCTION = {
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "x-fc-request-id",
    "x-fc-log-result",
}


def _error(status: int, code: str, message: str, request_id: str) -> JSONResponse:
    return JSONResponse(
        {"ErrorCode": code, "ErrorMessage": message}, status_code=status, headers={"x-fc-request-id": request_id}
    )


LOG_TYPE = "x-fc-log-type"
"""The request header asking for the log tail (``Tail``) or not (``None``, the default)."""
_LOG_TYPES = {"tail": True, "none": False}


def _wants_log(request: Request) -> bool | None:
    """Whether ``X-Fc-Log-Type`` asks for the log tail; None when its value is not one FC knows."""
    values = {v.strip().lower() for v in request.headers.getlist(LOG_TYPE)}
    if not values:
        return False
    if len(values) > 1:
        return None
    return _LOG_TYPES.get(values.pop())


def _below_prefix(request: Request) -> str:
    """The raw (percent-encoded) path after ``/2016-08-15/proxy/SERVICE/FUNCTION``."""
    raw = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
    parts = raw.split("/", 5)  # '', '2016-08-15', 'proxy', service, function, rest
    return "/" + parts[5] if len(parts) > 5 else "/"


def _lookup(host: FunctionHost, service: str, function: str) -> tuple[FunctionRecord | None, FunctionSpec | None]:
    record = host.registry.get(service, function)
    if record is None or not record.http_trigger:
        return None, None
    return record, host.spec_of(record)


def _signed_by(ctx: AppContext, request: Request, service: str, function: str, request_id: str) -> Response | None:
    """None when the request is signed by an identity that may invoke the function, else the 403 answer."""
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]]
    date = request.headers.get("date")
    if not date:
        return _error(403, "AccessDenied", "required HTTP header Date was not specified", request_id)
    now = ctx.clock() / 1000
    try:
        key_id, signature = parse_fc_authorization(request.headers.get("authorization"))
        if abs(parse_http_date(date) - now) > MAX_SKEW_S:
            message = f"the difference between the request time {date} and the server's time is over 15 minutes"
            return _error(403, "RequestTimeTooSkewed", message, request_id)
        key = ctx.keyring.resolve(key_id, request.headers.get(SECURITY_TOKEN_HEADER), now)
        raw_path = (request.scope.get("raw_path") or request.url.path.encode()).decode("latin-1")
        query = request.scope.get("query_string", b"").decode("latin-1")
        if not signature_matches(signature, key.secret, fc_string_to_sign(request.method, raw_path, query, headers)):
            message = (
                "The request signature we calculated does not match the signature you provided. "
                "Check your access key and signing method."
            )
            return _error(403, "SignatureNotMatch", message, request_id)
        principal = ctx.authorizer.principal(key)
        resource = arns.fc_function(ctx.region, ctx.account_id, service, function)
        ctx.authorizer.check(principal, "fc:InvokeFunction", resource)
    except MissingAuthorizationHeader as exc:
        return _error(403, "AccessDenied", exc.message, request_id)
    except InvalidDateHeader as exc:
        return _error(400, "InvalidArgument", exc.message, request_id)
    except AuthError as exc:
        return _error(403, exc.code, exc.message, request_id)
    return None


def _endpoint(ctx: AppContext, host: FunctionHost) -> Callable[[Request], Awaitable[Response]]:
    async def trigger(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        service, _, qualifier = request.path_params["service"].partition(".")
        function = request.path_params["function"]
        try:
            record, spec = await run_in_threadpool(_lookup, host, service, function)
        except TidegateError as exc:
            return _error(500, "FunctionNotReady", exc.message, request_id)
        if record is None or spec is None:
            message = f"function '{function}' of service '{service}' has no HTTP trigger or does not exist"
            return _error(404, "FunctionNotFound", message, request_id)
        if request.method not in record.http_methods:
            return _error(405, "MethodNotAllowed", f"method {request.method} is not allowed", request_id)
        if record.http_auth is TriggerAuth.FUNCTION:
            refused = await run_in_threadpool(_signed_by, ctx, request, service, function, request_id)
            if refused is not None:
                return refused
        want_log = _wants_log(request)
        if want_log is None:
            message = "the header X-Fc-Log-Type must be Tail or None (once)"
            return _error(400, "InvalidArgument", message, request_id)
        body = await read_body(request, MAX_BODY)
        if body is None:
            return _error(413, "RequestEntityTooLarge", f"the body exceeds {MAX_BODY} bytes", request_id)
        md5 = request.headers.get("content-md5")
        if record.http_auth is TriggerAuth.FUNCTION and md5 and not content_md5_ok(body, md5):
            # The signature covers the Content-MD5 header; this binds it to the body that came.
            return _error(400, "InvalidArgument", "the Content-MD5 header does not match the body", request_id)
        raw_uri = (request.scope.get("raw_path") or b"").decode("latin-1") or request.url.path
        query = request.scope.get("query_string", b"").decode("latin-1")
        server = request.scope.get("server") or ("localhost", 80)
        http = HttpRequest(
            method=request.method,
            path=_below_prefix(request),
            query=query,
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
            body=body,
            remote_addr=request.client.host if request.client else "",
            scheme=request.url.scheme,
            server_name=str(server[0]),
            server_port=int(server[1] or 80),
            request_uri=raw_uri + (f"?{query}" if query else ""),
        )
        try:
            invocation = await run_in_threadpool(host.context, service, request_id, qualifier or "LATEST")
        except RoleNotUsable as exc:
            return _error(
                403, "AccessDenied", f"the role of service {service} cannot be used: {exc.message}", request_id
            )
        result = await host.runner.invoke_http_async(spec, http, invocation)
        headers = [(k, v) for k, v in result.headers if k.lower() not in _NOT_FROM_FUNCTION]
        response = Response(content=result.body, status_code=result.status)
        # Repeated headers (Set-Cookie) must survive: append raw pairs instead of a dict.
        response.raw_headers = [
            *[(b"content-length", str(len(result.body)).encode())],
            *[(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            (b"x-fc-request-id", request_id.encode()),
        ]
        if want_log:
            tail = base64.b64encode(log_tail(result.logs).encode("utf-8", "replace"))
            response.raw_headers.append((b"x-fc-log-result", tail))
        return response

    return trigger


def trigger_routes(ctx: AppContext, host: FunctionHost) -> list[BaseRoute]:
    """The HTTP-trigger routes bound to ``host`` (every method FC triggers allow)."""
    endpoint = _endpoint(ctx, host)
    methods = list(HTTP_METHODS)
    return [
        Route(PREFIX + "/{service}/{function}", endpoint, methods=methods),
        Route(PREFIX + "/{service}/{function}/{path:path}", endpoint, methods=methods),
    ]
