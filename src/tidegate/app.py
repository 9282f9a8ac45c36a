"""The ASGI application of ``tidegate server``: the protocols of :mod:`tidegate.api` and the console, assembled.

It sits above both packages (docs/architecture.md): the console is built on ``api``, and neither imports this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tidegate import metrics
from tidegate.api.context import AppContext
from tidegate.api.fnf_rpc import RpcEndpoint
from tidegate.api.front import FrontDoor
from tidegate.api.ids import new_request_id
from tidegate.api.mns import MnsEndpoint, certificate_routes
from tidegate.api.permissions import authorize, request_context
from tidegate.api.permissions_rest import METRICS_NEED
from tidegate.api.rest import authenticate, error_response, not_found_default, rest_routes
from tidegate.console import console_routes, root_redirect
from tidegate.runtime.observe import StoreGauges, install

if TYPE_CHECKING:
    from tidegate.deploy.host import FunctionHost

__all__ = ["create_app"]


async def healthz(request: Request) -> JSONResponse:
    """``GET /healthz``: 200 once the server accepts requests."""
    return JSONResponse({"status": "ok"})


def metrics_route(ctx: AppContext, *, public: bool = False) -> Route:
    """``GET /metrics``: this process's metrics and the store's gauges in the Prometheus text format.

    It counts the store's transitions and times its writes from now on. Who may read it: a client with
    the root key by HTTP Basic, as the REST API, or another identity allowed ``tidegate:GetMetrics``; with
    ``public`` anyone who reaches the port (docs/operations.md, Metrics).
    """
    install(ctx.store)
    store_registry = CollectorRegistry(auto_describe=False)
    store_registry.register(StoreGauges(ctx.store, ctx.clock))

    def render() -> bytes:
        return metrics.render() + generate_latest(store_registry)

    async def endpoint(request: Request) -> Response:
        if not public:
            try:
                principal = ctx.authorizer.principal(authenticate(ctx, request))
                if not principal.is_root:
                    authorize(ctx.authorizer, principal, [METRICS_NEED], request_context(request.scope, ctx.clock()))
            except Exception as exc:  # the REST API's 401/403 document (401 with its WWW-Authenticate challenge)
                return error_response(exc, new_request_id())
        body = await run_in_threadpool(render)  # the store's gauges may read the store: not on the loop
        return Response(body, media_type=metrics.CONTENT_TYPE)

    return Route("/metrics", endpoint, methods=["GET"])


def create_app(ctx: AppContext, functions: FunctionHost | None = None, *, metrics_public: bool = False) -> FrontDoor:
    """Build the app: the FnF RPC and MNS protocols (:mod:`tidegate.api.front`), ``/healthz``, REST, console.

    Args:
        ctx: the server's store, keys and identity.
        functions: deployed functions: adds ``/api/v1/functions`` and the HTTP triggers.
        metrics_public: ``/metrics`` answers without credentials (it needs the root key otherwise). There
            is no ``/metrics`` when metrics are off (:func:`tidegate.metrics.set_enabled`).
    """
    mns = MnsEndpoint(ctx)  # MNS protocol: /queues, /topics, /?accountmeta
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            *([metrics_route(ctx, public=metrics_public)] if metrics.enabled() else []),
            Route("/", root_redirect, methods=["GET"]),  # a browser's GET / → /console/
            *rest_routes(ctx),
            *console_routes(ctx),  # the web console
            *certificate_routes(mns),
        ],
    )
    if functions is not None:
        from tidegate.api.fc_triggers import trigger_routes
        from tidegate.api.rest_functions import function_routes

        app.router.routes.extend([*function_routes(ctx, functions), *trigger_routes(ctx, functions)])
    app.router.default = not_found_default(app.router.default)  # an unknown /api/v1 path: the REST 404
    app.state.ctx = ctx
    return FrontDoor(app, RpcEndpoint(ctx), mns)
