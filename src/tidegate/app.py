"""The ASGI application of ``tidegate server``: the protocols of :mod:`tidegate.api` and the console, assembled.

It sits above both packages (docs/architecture.md): the console is built on ``api``, and neither imports this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tidegate.api.context import AppContext
from tidegate.api.fnf_rpc import RpcEndpoint
from tidegate.api.front import FrontDoor
from tidegate.api.mns import MnsEndpoint, certificate_routes
from tidegate.api.rest import not_found_route, rest_routes
from tidegate.console import console_routes, root_redirect

if TYPE_CHECKING:
    from tidegate.deploy.host import FunctionHost

__all__ = ["create_app"]


async def healthz(request: Request) -> JSONResponse:
    """``GET /healthz``: 200 once the server accepts requests."""
    return JSONResponse({"status": "ok"})


def create_app(ctx: AppContext, functions: FunctionHost | None = None) -> FrontDoor:
    """Build the app: the FnF RPC and MNS protocols (:mod:`tidegate.api.front`), ``/healthz``, REST, console.

    Args:
        ctx: the server's store, keys and identity.
        functions: deployed functions: adds ``/api/v1/functions`` and the HTTP triggers.
    """
    mns = MnsEndpoint(ctx)  # MNS protocol: /queues, /topics, /?accountmeta
    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/", root_redirect, methods=["GET"]),  # a browser's GET / → /console/
            *rest_routes(ctx),
            *console_routes(ctx),  # the web console
            *certificate_routes(mns),
        ],
    )
    if functions is not None:
        from tidegate.api.fc_triggers import trigger_routes
        from tidegate.api.rest_functions import function_routes

        app.router.routes.extend([*function_routes(ctx, functions), *trigger_routes(functions)])
    app.router.routes.append(not_found_route())  # last: any other /api/v1 path answers in the REST format
    app.state.ctx = ctx
    return FrontDoor(app, RpcEndpoint(ctx), mns)
