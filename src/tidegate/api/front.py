"""The server's outermost ASGI app: one dispatch for the two cloud protocols, Starlette for the rest.

The FnF RPC protocol (``/`` with ``Action``…) and the MNS resources (``/queues…``, ``/topics…``,
``/?accountmeta``) carry nearly every request a worker sends. They go straight to their endpoints: a few
string comparisons, where Starlette's router would try each of its ~50 routes' patterns in turn and every
middleware would wrap the call. Everything else (REST, console, triggers, ``/healthz``, the push
certificates) goes to the Starlette app. Request targets in absolute form (a proxied SDK) are put in origin
form first, for every route.
"""

from __future__ import annotations

import logging
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tidegate.api.body import ClientDisconnected
from tidegate.api.fnf_rpc import RpcEndpoint
from tidegate.api.ids import new_request_id
from tidegate.api.mns import MnsEndpoint, is_mns_request
from tidegate.api.proxy import origin_form_scope

__all__ = ["FrontDoor", "is_rpc_call"]

log = logging.getLogger("tidegate.api")

#: Query parameters of the RPC protocol: a GET with any of them is an API call, not a browser's visit.
RPC_MARKERS = frozenset({"Action", "Signature", "AccessKeyId"})


def is_rpc_call(scope: Scope) -> bool:
    """Tell whether a request on ``/`` is the RPC protocol: a POST, or RPC parameters, or ACS3 headers.

    Signature V1 requests carry ``Action``/``Signature`` in the query; ACS3-signed ones (signature V3)
    carry the action in ``x-acs-action`` and an ``Authorization`` header. A plain ``GET /`` is a visit.
    """
    if scope["method"] == "POST":
        return True
    for name, _ in scope["headers"]:
        if name in (b"x-acs-action", b"authorization"):
            return True
    query = scope.get("query_string", b"")
    if not query:
        return False
    keys = (part.partition("=")[0] for part in query.decode("latin-1").split("&"))
    return any(unquote_plus(key) in RPC_MARKERS for key in keys)


class FrontDoor:
    """Dispatch RPC and MNS requests to their endpoints; pass the rest to ``app``.

    Args:
        app: the Starlette app (REST, console, triggers…).
        rpc: the FnF RPC endpoint.
        mns: the MNS endpoint.
    """

    def __init__(self, app: ASGIApp, rpc: RpcEndpoint, mns: MnsEndpoint) -> None:
        self.app = app
        self.rpc = rpc
        self.mns = mns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = origin_form_scope(scope)
        try:
            response = await self._api(scope, receive)
            if response is None:
                await self.app(scope, receive, send)
            else:
                await response(scope, receive, send)
        except ClientDisconnected as gone:
            log.debug("%s", gone)  # nobody to answer: one line, no traceback
        except BaseExceptionGroup as group:  # raised inside a task group (a streaming response, a middleware)
            rest = group.split(ClientDisconnected)[1]
            if rest is not None:
                raise rest from None
            log.debug("%s %s: the client disconnected", scope["method"], scope["path"])

    async def _api(self, scope: Scope, receive: Receive) -> Response | None:
        path = scope["path"]
        if path == "/" and not is_mns_request(scope):
            if scope["method"] in ("GET", "HEAD", "POST") and is_rpc_call(scope):
                return await self.rpc.handle(Request(scope, receive))
            return None  # a visit: the console's redirect
        found = self.mns.match(scope["method"], path)
        if found is None:
            return None
        if not isinstance(found, tuple):  # MethodNotAllowed, ResourceNotExist
            return self.mns.error(found, new_request_id())
        handler, names = found
        return await self.mns.run(Request(scope, receive), handler, *names)
