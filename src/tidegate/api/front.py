"""The server's outermost ASGI app: one dispatch for the two cloud protocols, Starlette for the rest.

The FnF RPC protocol (``/`` with ``Action``…) and the MNS resources (``/queues…``, ``/topics…``,
``/?accountmeta``) carry nearly every request a worker sends. They go straight to their endpoints: a few
string comparisons, where Starlette's router would try each of its ~50 routes' patterns in turn and every
middleware would wrap the call. Everything else (REST, console, triggers, ``/healthz``, the push
certificates) goes to the Starlette app. Request targets in absolute form (a proxied SDK) are put in origin
form first, for every route.

Each request is counted and timed here (``tidegate_http_requests_total``, docs/operations.md, Metrics) by
protocol, action and status: the RPC Action and the MNS operation come from fixed sets (anything else is
``other``), the other protocols are labelled by HTTP method. The label children are bound once per
combination, so a request costs a dict look-up and three adds.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import unquote_plus

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidegate import metrics
from tidegate.api.body import ClientDisconnected
from tidegate.api.fnf_actions import ACTIONS
from tidegate.api.fnf_rpc import ACTION_KEY, RpcEndpoint
from tidegate.api.ids import new_request_id
from tidegate.api.mns import MnsEndpoint, is_mns_request
from tidegate.api.proxy import origin_form_scope

__all__ = ["FrontDoor", "is_rpc_call"]

log = logging.getLogger("tidegate.api")

#: The scope key where :meth:`FrontDoor._api` leaves the (protocol, action) labels of an RPC or MNS request.
LABELS_KEY = "tidegate.metric_labels"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Path prefixes of the protocols Starlette serves, first match wins.
_PROTOCOLS = (("/api/", "rest"), ("/console", "console"), ("/2016-08-15/proxy/", "trigger"))


def _labels(scope: Scope) -> tuple[str, str]:
    """The (protocol, action) labels of a request Starlette serves: by path prefix and HTTP method."""
    path: str = scope["path"]
    method: str = scope["method"]
    action = method if method in _METHODS else metrics.OTHER
    for prefix, protocol in _PROTOCOLS:
        if path.startswith(prefix):
            return protocol, action
    return metrics.OTHER, action


#: The action label of each MNS handler: the operation's name in the MNS API (a batch, a peek and a
#: SetQueueAttributes count under the operation that shares their handler).
MNS_OPERATIONS = {
    "put_queue": "CreateQueue",
    "get_queue": "GetQueueAttributes",
    "delete_queue": "DeleteQueue",
    "list_queues": "ListQueue",
    "send_messages": "SendMessage",
    "receive_messages": "ReceiveMessage",
    "delete_messages": "DeleteMessage",
    "change_visibility": "ChangeMessageVisibility",
    "put_topic": "CreateTopic",
    "get_topic": "GetTopicAttributes",
    "delete_topic": "DeleteTopic",
    "list_topics": "ListTopic",
    "publish": "PublishMessage",
    "put_subscription": "Subscribe",
    "get_subscription": "GetSubscriptionAttributes",
    "delete_subscription": "Unsubscribe",
    "list_subscriptions": "ListSubscriptionByTopic",
    "get_account": "GetAccountAttributes",
    "put_account": "SetAccountAttributes",
}


def rpc_action(name: str | None) -> str:
    """The action label of an RPC request: its Action when the protocol has it, else ``other``."""
    return name if name is not None and name in ACTIONS else metrics.OTHER


def _count(protocol: str, action: str, status: int, started: float) -> None:
    requests, latency = metrics.http_child(protocol, action, status)
    requests.inc()
    latency.observe(time.perf_counter() - started)


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
        counting = metrics.enabled()
        started = time.perf_counter()
        try:
            response = await self._api(scope, receive)
            if response is None:
                if not counting:
                    await self.app(scope, receive, send)
                    return
                status = 500  # what the server answers if the app raises before it starts a response

                async def send_counted(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                    await send(message)

                try:
                    await self.app(scope, receive, send_counted)
                finally:
                    protocol, action = _labels(scope)
                    _count(protocol, action, status, started)
            else:
                await response(scope, receive, send)
                if counting:
                    protocol, action = scope[LABELS_KEY]
                    _count(protocol, action, response.status_code, started)
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
                response = await self.rpc.handle(Request(scope, receive))
                scope[LABELS_KEY] = ("rpc", rpc_action(scope.get(ACTION_KEY)))
                return response
            return None  # a visit: the console's redirect
        found = self.mns.match(scope["method"], path)
        if found is None:
            return None
        if not isinstance(found, tuple):  # MethodNotAllowed, ResourceNotExist
            scope[LABELS_KEY] = ("mns", metrics.OTHER)
            return self.mns.error(found, new_request_id())
        handler, names = found
        scope[LABELS_KEY] = ("mns", MNS_OPERATIONS.get(handler.__name__, metrics.OTHER))
        return await self.mns.run(Request(scope, receive), handler, *names)
