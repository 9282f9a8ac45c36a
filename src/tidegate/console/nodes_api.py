"""Console endpoint for the servers sharing the store (the Nodes page)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from tidegate.api.rest_render import node_doc
from tidegate.console.web import ConsoleServices, Handler

__all__ = ["NODE_ROUTES"]


def list_nodes(s: ConsoleServices, req: Request, body: dict[str, Any]) -> Any:
    """Every node (id, address, version, host and pid, start, heartbeat age, state) and which one answers."""
    now = s.ctx.clock()
    return {"nodes": [node_doc(n, now) for n in s.ctx.store.list_nodes()], "this_node": s.ctx.node_id}


NODE_ROUTES: list[tuple[str, str, Handler]] = [("/nodes", "GET", list_nodes)]
