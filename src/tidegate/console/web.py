"""The console's HTTP surface: the page, its static files, sign-in, and the JSON endpoints' plumbing.

Every ``/console/api/…`` endpoint except sign-in needs a valid session cookie; every state-changing one
also needs the session's CSRF token in ``X-CSRF-Token`` and a JSON body. Handlers are blocking functions
``(services, request, body) -> doc`` run in worker threads (they call the store), like the REST API's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from tidegate.api.body import MAX_BODY, read_body
from tidegate.api.context import AppContext
from tidegate.api.permissions import Where, authorize, request_context
from tidegate.api.rpc_errors import rpc_error
from tidegate.auth.policy import Decision
from tidegate.console.permissions import CONSOLE_NEEDS, MAX_QUESTIONS
from tidegate.console.session import (
    COOKIE_NAME,
    CSRF_HEADER,
    SESSION_TTL_S,
    ConsoleUnauthorized,
    CsrfRejected,
    Session,
    SessionSigner,
)
from tidegate.errors import QueueError, TidegateError
from tidegate.jsontext import MAX_DEPTH
from tidegate.jsontext import parse as parse_json
from tidegate.mq import QueueService, TopicService
from tidegate.mq.wire_xml import MNS_ERRORS
from tidegate.ram import Principal

__all__ = ["PREFIX", "STATIC_DIR", "ConsoleServices", "Handler", "Invalid", "endpoint", "may", "page_routes"]

PREFIX = "/console"
STATIC_DIR = Path(__file__).parent / "static"
_SAFE = frozenset({"GET", "HEAD"})
#: Strict page policy: only our own scripts and styles (no inline script), no framing.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_HEADERS = {"content-security-policy": _CSP, "x-content-type-options": "nosniff", "cache-control": "no-store"}


class Invalid(TidegateError):
    """The request is not valid."""

    code = "InvalidArgument"


@dataclass(slots=True)
class ConsoleServices:
    """What the console's handlers call: the app context (workflow service) and the message services."""

    ctx: AppContext
    queues: QueueService
    topics: TopicService
    sessions: SessionSigner

    @classmethod
    def of(cls, ctx: AppContext) -> ConsoleServices:
        """Build the services over the context's store."""
        db = ctx.store.database
        return cls(
            ctx=ctx,
            queues=QueueService(db, clock=ctx.clock),
            topics=TopicService(db, ctx.region, ctx.account_id, clock=ctx.clock, egress=ctx.egress),
            sessions=SessionSigner(ctx.keyring),
        )


Handler = Callable[[ConsoleServices, Request, dict[str, Any]], Any]


def error_response(exc: BaseException) -> JSONResponse:
    """Render any exception as ``{"code", "message"}`` with its HTTP status."""
    if isinstance(exc, QueueError):
        status, code, message = MNS_ERRORS.get(exc.code, 400), exc.code, exc.message
    else:
        status, code, message = rpc_error(exc)
    return JSONResponse({"code": code, "message": message}, status_code=status, headers=_HEADERS)


async def _json_body(request: Request) -> dict[str, Any]:
    if request.method in _SAFE or request.method == "DELETE":
        return {}
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        # A JSON content type cannot be sent cross-site without a CORS preflight: a second CSRF guard.
        raise Invalid("The body must be JSON (Content-Type: application/json).")
    raw = await read_body(request, MAX_BODY)
    if raw is None:
        raise Invalid(f"The body is larger than {MAX_BODY} bytes.")
    body = parse_json(raw or b"{}", "The body", max_depth=MAX_DEPTH + 1)  # an input keeps MAX_DEPTH levels
    if not isinstance(body, dict):
        raise Invalid("The body must be a JSON object.")
    return body


def session_of(services: ConsoleServices, request: Request) -> Session:
    """The request's verified session; for unsafe methods also check the CSRF token.

    Raises:
        ConsoleUnauthorized: no valid session. CsrfRejected: a state change without the token.
    """
    session = services.sessions.verify(request.cookies.get(COOKIE_NAME), services.ctx.clock() / 1000)
    if request.method not in _SAFE:
        services.sessions.check_csrf(session, request.headers.get(CSRF_HEADER))
    return session


def principal_of(services: ConsoleServices, session: Session) -> Principal:
    """The identity a session acts as (the key it signed in with)."""
    if session.key is None:  # a session straight from sign_in/verify always has its key
        raise ConsoleUnauthorized()
    return services.ctx.authorizer.principal(session.key)


def may(services: ConsoleServices, request: Request, action: str, resource: str) -> bool:
    """Whether the request's identity may do ``action`` on ``resource`` (for a handler that shows a part of
    its answer only to those allowed; called in the handler's worker thread)."""
    principal: Principal = request.state.principal
    if principal.is_root:
        return True
    decision = services.ctx.authorizer.decide(principal, action, resource, request.state.context)
    return decision is Decision.ALLOW


def endpoint(services: ConsoleServices, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a blocking handler: session (and CSRF) check, JSON body, permissions, thread, error mapping."""
    needs = CONSOLE_NEEDS[handler.__name__]

    async def run(request: Request) -> Response:
        try:
            principal = principal_of(services, session_of(services, request))
            request.state.principal = principal  # for handlers that show parts only to some (see ``may``)
            request.state.context = request_context(request.scope, services.ctx.clock())
            body = await _json_body(request)
            if not principal.is_root:
                authorizer = services.ctx.authorizer
                wanted = needs(Where.of(authorizer), request.path_params, request.query_params, body)
                authorize(authorizer, principal, wanted, request.state.context)
            result = await run_in_threadpool(handler, services, request, body)
        except Exception as exc:  # the one place console errors become responses
            return error_response(exc)
        status, doc = result if isinstance(result, tuple) else (200, result)
        return JSONResponse(doc, status_code=status, headers=_HEADERS)

    return run


# --- sign-in ---------------------------------------------------------------------------------------


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser cross-site form (browsers send Origin on every POST)
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _session_doc(services: ConsoleServices, session: Session) -> dict[str, Any]:
    principal = principal_of(services, session)
    return {
        "key_id": session.key_id,
        "principal": {"arn": principal.arn, "kind": principal.kind.value, "name": principal.name},
        "csrf": services.sessions.csrf_token(session),
        "expires": session.expires_s,
        "account_id": services.ctx.account_id,
        "region": services.ctx.region,
    }


def _session_routes(services: ConsoleServices) -> Callable[[Request], Awaitable[Response]]:
    async def session_endpoint(request: Request) -> Response:
        try:
            if request.method == "GET":
                return JSONResponse(_session_doc(services, session_of(services, request)), headers=_HEADERS)
            if request.method == "DELETE":
                session_of(services, request)
                response = JSONResponse({"signed_out": True}, headers=_HEADERS)
                response.delete_cookie(COOKIE_NAME, path=PREFIX, httponly=True, samesite="strict")
                return response
            if not _same_origin(request):
                raise CsrfRejected("Sign-in from another site is refused.")
            body = await _json_body(request)
            key_id, secret = body.get("access_key_id"), body.get("access_key_secret")
            if not isinstance(key_id, str) or not isinstance(secret, str):
                raise ConsoleUnauthorized("Give an AccessKey ID and secret.")
            cookie, session = services.sessions.sign_in(key_id, secret, services.ctx.clock() / 1000)
        except Exception as exc:
            return error_response(exc)
        response = JSONResponse(_session_doc(services, session), headers=_HEADERS)
        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=SESSION_TTL_S,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    return session_endpoint


def _questions(body: dict[str, Any]) -> list[tuple[str, str]]:
    checks = body.get("checks")
    if not isinstance(checks, list) or len(checks) > MAX_QUESTIONS:
        raise Invalid(f"checks must be a list of at most {MAX_QUESTIONS} {{action, resource}} objects.")
    out = []
    for item in checks:
        action = item.get("action") if isinstance(item, dict) else None
        resource = item.get("resource") if isinstance(item, dict) else None
        if not isinstance(action, str) or not isinstance(resource, str) or not action or not resource:
            raise Invalid("Each check needs a non-empty action and resource.")
        if len(action) > 128 or len(resource) > 1024:
            raise Invalid("An action is at most 128 characters, a resource at most 1024.")
        out.append((action, resource))
    return out


def _permissions_route(services: ConsoleServices) -> Callable[[Request], Awaitable[Response]]:
    """``POST /console/api/permissions`` ``{"checks": [{action, resource}…]}``: what the session may do."""

    async def permissions_endpoint(request: Request) -> Response:
        try:
            principal = principal_of(services, session_of(services, request))
            questions = _questions(await _json_body(request))
            authorizer = services.ctx.authorizer
            context = request_context(request.scope, services.ctx.clock())

            def decide() -> list[bool]:
                return [authorizer.decide(principal, a, r, context) is Decision.ALLOW for a, r in questions]

            allowed = decide() if principal.is_root else await run_in_threadpool(decide)
        except Exception as exc:
            return error_response(exc)
        decisions = [{"action": a, "resource": r, "allowed": ok} for (a, r), ok in zip(questions, allowed, strict=True)]
        return JSONResponse({"decisions": decisions}, headers=_HEADERS)

    return permissions_endpoint


async def _index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers=_HEADERS, media_type="text/html")


async def _to_console(request: Request) -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


def page_routes(services: ConsoleServices) -> list[BaseRoute]:
    """The page (``/console/``), its assets (``/console/static/…``) and the session endpoint."""
    return [
        Route(PREFIX, _to_console, methods=["GET"]),
        Route(f"{PREFIX}/", _index, methods=["GET"]),
        Mount(f"{PREFIX}/static", app=StaticFiles(directory=STATIC_DIR), name="console-static"),
        Route(f"{PREFIX}/api/session", _session_routes(services), methods=["GET", "POST", "DELETE"]),
        Route(f"{PREFIX}/api/permissions", _permissions_route(services), methods=["POST"]),
    ]
