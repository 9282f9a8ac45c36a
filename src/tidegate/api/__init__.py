"""tidegate.api: the server's protocols (Serverless Workflow RPC, MNS, REST, function triggers) as ASGI handlers.

The whole application, with the console mounted, is assembled by :func:`tidegate.app.create_app`.
"""

from __future__ import annotations

from tidegate.api.context import AppContext
from tidegate.names import DEFAULT_REGION

__all__ = ["DEFAULT_REGION", "AppContext"]
