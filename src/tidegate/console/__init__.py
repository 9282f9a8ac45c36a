"""tidegate.console: the web console served under ``/console/`` (see ``docs/console.md``).

:func:`console_routes` gives the app its routes; :func:`root_redirect` wraps the ``/`` handler so that a
browser visiting the bare server lands on the console.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from tidegate.api.context import AppContext
from tidegate.api.rest import method_dispatch
from tidegate.console.flows_api import FLOW_ROUTES
from tidegate.console.mq_api import MQ_ROUTES
from tidegate.console.web import PREFIX, ConsoleServices, Handler, endpoint, page_routes

__all__ = ["console_routes", "root_redirect"]

Endpoint = Callable[[Request], Awaitable[Response]]
#: Query parameters of the RPC protocol: a request with any of them is an API call, not a visit.
_RPC_MARKERS = ("Action", "Signature", "AccessKeyId")


def console_routes(ctx: AppContext) -> list[BaseRoute]:
    """Every console route (page, assets, session, JSON endpoints), bound to ``ctx``."""
    services = ConsoleServices.of(ctx)
    by_path: dict[str, dict[str, Endpoint]] = {}
    table: list[tuple[str, str, Handler]] = [*FLOW_ROUTES, *MQ_ROUTES]
    for path, method, handler in table:
        by_path.setdefault(path, {})[method] = endpoint(services, handler)
    routes = page_routes(services)
    for path, handlers in by_path.items():
        routes.append(Route(f"{PREFIX}/api{path}", method_dispatch(handlers), methods=sorted(handlers)))
    return routes


def root_redirect(rpc: Endpoint) -> Endpoint:
    """Wrap the ``/`` handler: a plain ``GET /`` (no RPC parameters) redirects to ``/console/``.

    An API call is never redirected: RPC-signed requests carry ``Action``/``Signature`` in the query, and
    ACS3-signed ones (signature V3) carry the action in ``x-acs-action`` and an ``Authorization`` header.
    """

    async def root(request: Request) -> Response:
        api_call = any(k in request.query_params for k in _RPC_MARKERS) or any(
            h in request.headers for h in ("x-acs-action", "authorization")
        )
        if request.method in ("GET", "HEAD") and not api_call:
            return RedirectResponse(f"{PREFIX}/", status_code=307)
        return await rpc(request)

    return root
