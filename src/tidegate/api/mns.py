"""The MNS protocol (API 2015-06-06, docs/protocols.md) on the server's port.

Resources: ``/queues…``, ``/topics…`` and ``/?accountmeta=true``, matched by :meth:`MnsEndpoint.match`
and :func:`is_mns_request` in :mod:`tidegate.api.front` (``/`` with ``Action`` is the FnF RPC protocol), and
the push certificate ``/mns/certs/{name}`` that subscribers fetch to verify pushes (a Starlette route).
Every request is authenticated (docs/protocols.md) before its handler runs; every error is an ``<Error>`` with all four
elements and a lower-case ``x-mns-request-id`` (aliyun-mns-sdk 1.3.0 reads headers from a case-sensitive dict).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import partial

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from tidegate.api import mns_ops as ops
from tidegate.api.body import MAX_BODY, read_body
from tidegate.api.context import AppContext
from tidegate.api.ids import new_request_id
from tidegate.api.mns_auth import MnsRequest, authenticate, parse_raw_query
from tidegate.api.permissions import Where, authorize, request_context
from tidegate.api.permissions_mns import mns_needs
from tidegate.auth.keys import AccessKey
from tidegate.errors import AuthError, QueueError, TidegateError
from tidegate.logctx import REQUEST_ID
from tidegate.mq import wire
from tidegate.mq.errors import MessageNotExist
from tidegate.mq.push import CERT_SETTING_PREFIX
from tidegate.mq.queues import QueueService
from tidegate.mq.topics import TopicService

__all__ = ["MethodNotAllowed", "MnsEndpoint", "certificate_routes", "is_mns_request"]

log = logging.getLogger(__name__)
#: Long polls waiting at once (each holds a worker thread for up to 30 s).
LONG_POLL_SLOTS = 512

Handler = Callable[..., ops.Reply]


def is_mns_request(scope: Scope) -> bool:
    """Tell whether a request on ``/`` is MNS (``Authorization: MNS …`` or ``x-mns-version``)."""
    for name, value in scope.get("headers", ()):
        if name == b"x-mns-version" or (name == b"authorization" and value.startswith(b"MNS ")):
            return True
    return False


class MnsEndpoint:
    """The MNS handlers of one app.

    Args:
        ctx: the server's store, keys, region and account.
    """

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        db = ctx.store.database
        self.services = ops.MnsServices(
            queues=QueueService(db, clock=ctx.clock),
            topics=TopicService(db, ctx.region, ctx.account_id, clock=ctx.clock, egress=ctx.egress),
        )
        self._poll_limiter: anyio.CapacityLimiter | None = None
        # On SQLite an operation is a local file transaction that waits on nothing: cheaper on the event loop
        # than handed to a thread. On PostgreSQL it waits on network round trips, which must not stall the loop.
        self._inline = db.dialect == "sqlite"
        self._db = db

    @property
    def host_id(self) -> str:
        """The ``HostId`` of error bodies: the service's endpoint form for this account and region."""
        return f"http://{self.ctx.account_id}.mns.{self.ctx.region}.aliyuncs.com"

    def _limiter(self) -> anyio.CapacityLimiter:
        # Created lazily: a limiter belongs to the running event loop. Long polls get their own pool so
        # that waiting receivers never starve ordinary requests of worker threads.
        if self._poll_limiter is None:
            self._poll_limiter = anyio.CapacityLimiter(LONG_POLL_SLOTS)
        return self._poll_limiter

    def _reply(self, status: int, body: bytes, request_id: str, headers: dict[str, str] | None = None) -> Response:
        h = {
            "x-mns-request-id": request_id,
            "x-mns-version": "2015-06-06",
            "Server": "tidegate",  # uvicorn adds the Date header, to every response
            **(headers or {}),
        }
        media = wire.CONTENT_TYPE if body else None
        return Response(body, status_code=status, headers=h, media_type=media)

    def error(self, exc: TidegateError, request_id: str) -> Response:
        """Render an error in the MNS format with the status of its code."""
        code = exc.code
        default = 403 if isinstance(exc, AuthError) else 400 if isinstance(exc, QueueError) else 500
        status = wire.MNS_ERRORS.get(code, default)
        body = wire.render_error(code, exc.message, request_id, self.host_id)
        return self._reply(status, body, request_id)

    async def run(self, request: Request, handler: Handler, *args: str) -> Response:
        """Authenticate the request, run ``handler(services, request, *args)``, render the reply."""
        request_id = new_request_id()
        REQUEST_ID.set(request_id)  # the log lines of this request carry it
        started = time.monotonic()
        try:
            req, key = await self._request(request)
            self._authorize(request.scope, key, handler, args, req)
            call = partial(handler, self.services, req, *args)
            if handler is ops.receive_messages:
                reply = await self._receive_now(req, *args) if self._inline else None
                if reply is None:  # nothing available yet: long-poll in a thread of its own
                    # The wait counts from the request's arrival: time queued for a slot is part of it.
                    call = partial(ops.receive_messages, self.services, req, *args, started=started)
                    reply = await anyio.to_thread.run_sync(call, limiter=self._limiter())
            elif self._inline:
                # Short operations on SQLite run on the event loop: handing them to a worker thread and back
                # cost more than the operation itself (GIL hand-offs were ~40 % of the server's time under
                # load; bench/README.md). Long polls, which wait, always get a thread. The reply waits,
                # without blocking the loop, until what the operation committed is on disk.
                try:
                    with self._db.acknowledge_later():
                        reply = call()
                finally:
                    await self._db.durable()
            else:
                reply = await run_in_threadpool(call)
        except TidegateError as exc:
            return self.error(exc, request_id)
        except Exception:
            log.exception("MNS request %s failed", request_id)
            return self.error(TidegateError("The service is temporarily unavailable."), request_id)
        return self._reply(reply.status, reply.body, request_id, reply.headers)

    async def _receive_now(self, req: MnsRequest, *args: str) -> ops.Reply | None:
        """A receive that finds messages at once is answered on the event loop (no thread hand-off)."""
        try:
            with self._db.acknowledge_later():
                return ops.receive_messages(self.services, req, *args, immediate=True)
        except MessageNotExist:
            return None
        finally:
            await self._db.durable()

    def _authorize(
        self, scope: Scope, key: AccessKey, handler: Handler, names: tuple[str, ...], req: MnsRequest
    ) -> None:
        """Raise AccessDenied unless the key's principal may do this operation (the root key: at once)."""
        authorizer = self.ctx.authorizer
        principal = authorizer.principal(key)
        if principal.is_root:
            return
        needs = mns_needs(Where.of(authorizer), handler.__name__, names, req.query)
        authorize(authorizer, principal, needs, request_context(scope, self.ctx.clock()))

    async def _request(self, request: Request) -> tuple[MnsRequest, AccessKey]:
        scope = request.scope
        raw_path = (scope.get("raw_path") or scope["path"].encode("latin-1")).decode("latin-1")
        raw_query = scope.get("query_string", b"").decode("latin-1")
        raw_target = raw_path + ("?" + raw_query if raw_query else "")
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
        body = await read_body(request, MAX_BODY)
        if body is None:
            raise wire.MalformedXML(f"The request body is larger than {MAX_BODY} bytes.")
        key = authenticate(request.method, raw_target, headers, body, self.ctx.keyring, self.ctx.clock() / 1000)
        host = headers.get("host") or f"{self.ctx.account_id}.mns.{self.ctx.region}.aliyuncs.com"
        req = MnsRequest(
            method=request.method,
            raw_target=raw_target,
            query=parse_raw_query(raw_query),
            headers=headers,
            body=body,
            base_url=f"{scope.get('scheme', 'http')}://{host}",
        )
        return req, key

    async def certificate(self, request: Request) -> Response:
        """Serve a push-signing certificate (no authentication: subscribers fetch it)."""
        name = request.path_params["name"]
        pem = await run_in_threadpool(self.ctx.store.get_setting, CERT_SETTING_PREFIX + name)
        if pem is None:
            return Response(b"not found", status_code=404, media_type="text/plain")
        return Response(pem.encode("ascii"), media_type="application/x-pem-file")

    def match(self, method: str, path: str) -> tuple[Handler, tuple[str, ...]] | QueueError | None:
        """Find the handler of an MNS request: ``(handler, names)``, an error to answer, or None (not MNS).

        The error is MethodNotAllowed for a resource asked with a method it does not have, and
        ResourceNotExist for a path under ``/queues`` or ``/topics`` that names no resource (``/queues/``,
        ``/topics/t/x``): the MNS namespace answers in its own format, never with a plain-text 404.
        """
        segments = path[1:].split("/")
        for pattern, by_method in _ROUTES.get((segments[0], len(segments)), ()):
            names = []
            for want, got in zip(pattern, segments, strict=True):
                if want == "{}":
                    if not got:
                        break
                    names.append(got)
                elif want != got:
                    break
            else:
                handler = by_method.get(method)
                if handler is None:
                    return MethodNotAllowed(f"The method {method} is not allowed on {path[:200]}.")
                return handler, tuple(names)
        if segments[0] in ("queues", "topics"):
            return ResourceNotExist(f"No message-service resource is at {path[:200]}.")
        return None


class MethodNotAllowed(QueueError):
    """The resource exists, but not with this method."""

    code = "MethodNotAllowed"


class ResourceNotExist(QueueError):
    """A path in the message service's namespace that names no resource (answered 404)."""

    code = "ResourceNotExist"


#: Every MNS resource: path segments ("{}" is a name, which is never empty) and its handlers by method.
_ROUTE_TABLE: list[tuple[tuple[str, ...], dict[str, Handler]]] = [
    (("",), {"GET": ops.get_account, "PUT": ops.put_account}),  # `/` when the request is MNS (front.py)
    (("queues",), {"GET": ops.list_queues}),
    (("queues", "{}"), {"PUT": ops.put_queue, "GET": ops.get_queue, "DELETE": ops.delete_queue}),
    (
        ("queues", "{}", "messages"),
        {
            "POST": ops.send_messages,
            "GET": ops.receive_messages,
            "DELETE": ops.delete_messages,
            "PUT": ops.change_visibility,
        },
    ),
    (("topics",), {"GET": ops.list_topics}),
    (("topics", "{}"), {"PUT": ops.put_topic, "GET": ops.get_topic, "DELETE": ops.delete_topic}),
    (("topics", "{}", "messages"), {"POST": ops.publish}),
    (("topics", "{}", "subscriptions"), {"GET": ops.list_subscriptions}),
    (
        ("topics", "{}", "subscriptions", "{}"),
        {"PUT": ops.put_subscription, "GET": ops.get_subscription, "DELETE": ops.delete_subscription},
    ),
]
_ROUTES: dict[tuple[str, int], list[tuple[tuple[str, ...], dict[str, Handler]]]] = {}
for _pattern, _by_method in _ROUTE_TABLE:
    _ROUTES.setdefault((_pattern[0], len(_pattern)), []).append((_pattern, _by_method))


def certificate_routes(endpoint: MnsEndpoint) -> list[BaseRoute]:
    """The Starlette route of the push-signing certificates (the MNS resources go through :meth:`match`)."""
    return [Route("/mns/certs/{name}", endpoint.certificate, methods=["GET"])]
