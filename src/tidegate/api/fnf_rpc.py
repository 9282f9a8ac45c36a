"""The RPC endpoint (docs/api.md, docs/protocols.md): ``GET|POST /?Action=…``.

It serves Serverless Workflow (``Version=2019-03-15``) and the other RPC products registered in
:data:`PRODUCTS` by their API version (RAM ``2015-05-01``, STS ``2015-04-01``). One request: read the body
(≤ 1 MiB), merge query and form parameters, check ``Action`` and ``Version``, authenticate (signature,
timestamp, nonce), resolve the principal, authorize (:mod:`tidegate.api.permissions`), then run the
action. Every failure goes through :func:`tidegate.api.rpc_errors.rpc_error`, the one place where errors
become responses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from tidegate.api.body import MAX_BODY, read_body
from tidegate.api.context import AppContext
from tidegate.api.fnf_actions import ACTIONS, describe_execution, wait_seconds
from tidegate.api.ids import new_request_id
from tidegate.api.permissions import authorize_rpc, request_context
from tidegate.api.ram_api import RAM_PRODUCT
from tidegate.api.rpc_auth import ACS3_PREFIX, Authenticated, NonceCache, UsedNonce, authenticate_acs3, authenticate_rpc
from tidegate.api.rpc_errors import (
    ActionNotSupported,
    ApiVersionNotSupported,
    EntityTooLarge,
    MissingRequiredParams,
    rpc_error,
)
from tidegate.api.rpc_params import Params
from tidegate.api.rpc_product import RpcCall, RpcProduct
from tidegate.api.sts_api import STS_PRODUCT, STS_VERSION
from tidegate.auth.signatures import parse_rpc_request
from tidegate.jsontext import compact
from tidegate.logctx import REQUEST_ID

__all__ = ["ACTION_KEY", "API_VERSION", "MAX_BODY", "PRODUCTS", "RpcEndpoint"]

API_VERSION = "2019-03-15"


#: The other RPC products by API version (RAM ``2015-05-01``, STS ``2015-04-01``).
PRODUCTS: dict[str, RpcProduct] = {"2015-05-01": RAM_PRODUCT, STS_VERSION: STS_PRODUCT}


def _request_id(params: dict[str, str] | None) -> str:
    given = (params or {}).get("RequestId", "")
    if given and len(given) <= 128 and given.isprintable():
        return given
    return new_request_id()


def _json(status: int, body: dict[str, Any], request_id: str) -> Response:
    return Response(
        compact(body),
        status_code=status,
        media_type="application/json;charset=utf-8",
        headers={"x-acs-request-id": request_id},
    )


async def _read_body(request: Request) -> bytes:
    body = await read_body(request, MAX_BODY)
    if body is None:
        raise EntityTooLarge(MAX_BODY)
    return body


def _target(request: Request) -> str:
    # From the scope: ``request.url`` would build (and parse again) a whole URL object.
    query = request.scope.get("query_string", b"").decode("latin-1")
    path: str = request.scope["path"]
    return path + (f"?{query}" if query else "")


#: On SQLite the hot, short actions (one or two local transactions, no waiting) run on the event loop: a
#: hand-off to a worker thread and back costs more than they do. Listings, definitions, long polls and every
#: action on PostgreSQL (network round trips) get a thread.
_INLINE = frozenset(
    {
        "StartExecution",
        "StopExecution",
        "DescribeExecution",
        "ReportTaskSucceeded",
        "ReportTaskFailed",
        "ReportTaskHeartbeat",
    }
)


#: The scope key where :meth:`RpcEndpoint.handle` leaves the request's Action (unchecked; for the metrics).
ACTION_KEY = "tidegate.rpc_action"


class RpcEndpoint:
    """The request/response endpoint (:meth:`handle`) of the RPC protocol, bound to one :class:`AppContext`."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.nonces = NonceCache(store=ctx.store)  # shared by every server on the store
        self._db = ctx.store.database
        self._inline = _INLINE if self._db.dialect == "sqlite" else frozenset()

    async def handle(self, request: Request) -> Response:
        """Handle one request; never raises."""
        params: dict[str, str] | None = None
        rid: str | None = None
        try:
            body = await _read_body(request)
            # A form body counts for GET too: aliyunsdkcore sends one (and signs it) when a POST action is
            # switched to GET with set_method; parse_rpc_request reads bodies of non-GET requests only.
            params = parse_rpc_request("POST", _target(request), request.headers.get("content-type"), body)
            rid = _request_id(params)
            REQUEST_ID.set(rid)  # the log lines of this request carry it
            if request.headers.get("authorization", "").startswith(ACS3_PREFIX):
                result = await self._dispatch_acs3(request, params, body)
            else:
                result = await self._dispatch(request, params)
        except Exception as exc:  # the one place errors become responses
            if rid is None:
                rid = _request_id(params)
                REQUEST_ID.set(rid)
            status, code, message = rpc_error(exc)
            if params is not None:
                request.scope[ACTION_KEY] = params.get("Action")
            return _json(status, {"RequestId": rid, "HostId": self.ctx.host_id, "Code": code, "Message": message}, rid)
        request.scope[ACTION_KEY] = params.get("Action")
        return _json(200, {**result, "RequestId": rid}, rid)

    def _action(self, params: dict[str, str]) -> tuple[RpcProduct | None, str]:
        """The product (None: Serverless Workflow) and the action a request names."""
        action = params.get("Action")
        if not action:
            raise MissingRequiredParams("Action")
        version = params.get("Version")
        if not version:
            raise MissingRequiredParams("Version")
        product = None if version == API_VERSION else PRODUCTS.get(version)
        if version != API_VERSION and product is None:
            raise ApiVersionNotSupported(version)
        if action not in (ACTIONS if product is None else product.actions):
            raise ActionNotSupported(action)
        return product, action

    async def _dispatch(self, request: Request, params: dict[str, str]) -> dict[str, Any]:
        product, action = self._action(params)
        auth = authenticate_rpc(request.method, params, self.ctx.keyring, self.nonces, self.ctx.clock() / 1000)
        return await self._run(request, auth, product, action, params)

    async def _dispatch_acs3(self, request: Request, params: dict[str, str], body: bytes) -> dict[str, Any]:
        # Signature V3 carries the action and version in headers rather than parameters.
        params.setdefault("Action", request.headers.get("x-acs-action", ""))
        params.setdefault("Version", request.headers.get("x-acs-version", ""))
        product, action = self._action(params)
        raw_query = request.scope.get("query_string", b"").decode("latin-1")
        auth = authenticate_acs3(
            request.method,
            request.scope["path"],
            raw_query,
            request.headers,
            body,
            self.ctx.keyring,
            self.nonces,
            self.ctx.clock() / 1000,
        )
        return await self._run(request, auth, product, action, params)

    async def _run(
        self, request: Request, auth: Authenticated, product: RpcProduct | None, action: str, params: dict[str, str]
    ) -> dict[str, Any]:
        p = Params(params)
        principal = self.ctx.authorizer.principal(auth.key)
        context = request_context(request.scope, self.ctx.clock())
        if product is None or action not in product.self_authorized:
            authorize_rpc(
                self.ctx.authorizer, principal, "fnf" if product is None else product.code, action, p, context
            )
        # The nonce is claimed in the store (every server sees it) where the action runs: in its thread, or
        # inline on SQLite, whose commit is made durable with the action's before the reply.
        nonce = auth.nonce
        if product is not None:
            rpc_call = RpcCall(ctx=self.ctx, principal=principal, params=p, context=context)
            return await run_in_threadpool(self._claimed, nonce, partial(product.actions[action], rpc_call))
        svc = self.ctx.service
        if action == "DescribeExecution" and (wait := wait_seconds(p)) > 0:
            # The deadline starts now, so time spent queueing for a slot counts against the wait.
            deadline = time.monotonic() + wait
            call = partial(self._claimed, nonce, partial(describe_execution, svc, p, deadline))
            return await anyio.to_thread.run_sync(call, limiter=self.ctx.long_poll_limiter())
        if action in self._inline:
            try:
                with self._db.acknowledge_later():
                    return self._claimed(nonce, partial(ACTIONS[action], svc, p))
            finally:
                await self._db.durable()  # the reply waits, without blocking the loop, until it is on disk
        return await run_in_threadpool(self._claimed, nonce, partial(ACTIONS[action], svc, p))

    def _claimed(self, nonce: UsedNonce, action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Claim the request's nonce in the store, then run the action (both on the calling thread)."""
        self.nonces.claim(nonce)
        return action()
