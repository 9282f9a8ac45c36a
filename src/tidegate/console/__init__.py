"""tidegate.console: the web console served under ``/console/`` (see ``docs/console.md``).

:func:`console_routes` gives the app its routes; :func:`root_redirect` answers ``/`` so that a browser
visiting the bare server lands on the console.
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
from tidegate.console.nodes_api import NODE_ROUTES
from tidegate.console.tasks_api import TASK_ROUTES
from tidegate.console.web import PREFIX, ConsoleServices, Handler, endpoint, page_routes

__all__ = ["console_routes", "root_redirect"]

Endpoint = Callable[[Request], Awaitable[Response]]


def console_routes(ctx: AppContext) -> list[BaseRoute]:
    """Every console route (page, assets, session, JSON endpoints), bound to ``ctx``."""
    services = ConsoleServices.of(ctx)
    by_path: dict[str, dict[str, Endpoint]] = {}
    table: list[tuple[str, str, Handler]] = [*FLOW_ROUTES, *MQ_ROUTES, *NODE_ROUTES, *TASK_ROUTES]
    for path, method, handler in table:
        by_path.setdefault(path, {})[method] = endpoint(services, handler)
    routes = page_routes(services)
    for path, handlers in by_path.items():
        routes.append(Route(f"{PREFIX}/api{path}", method_dispatch(handlers), methods=sorted(handlers)))
    return routes


async def root_redirect(request: Request) -> Response:
    """``GET /`` from a browser: to the console. API calls on ``/`` never get here (:mod:`tidegate.api.front`)."""
    return RedirectResponse(f"{PREFIX}/", status_code=307)
