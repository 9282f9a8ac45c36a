"""The ASGI application of ``tidegate server``."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tidegate.api.context import AppContext
from tidegate.api.fnf_rpc import RpcEndpoint
from tidegate.api.mns import install as install_mns
from tidegate.api.proxy import AbsoluteFormMiddleware
from tidegate.api.rest import rest_routes

__all__ = ["create_app"]


async def healthz(request: Request) -> JSONResponse:
    """``GET /healthz``: 200 once the server accepts requests."""
    return JSONResponse({"status": "ok"})


def create_app(ctx: AppContext) -> Starlette:
    """Build the app: ``/healthz``, the FnF RPC protocol on ``/`` (GET and POST) and the REST API.

    Args:
        ctx: the server's store, keys and identity.
    """
    rpc = RpcEndpoint(ctx)
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/", rpc.handle, methods=["GET", "POST"]),
            *rest_routes(ctx),
        ],
        middleware=[Middleware(AbsoluteFormMiddleware)],
    )
    install_mns(app, ctx)  # MNS protocol: /queues, /topics, /?accountmeta (issue 4)
    app.state.ctx = ctx
    return app
