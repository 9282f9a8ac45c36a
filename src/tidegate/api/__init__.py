"""tidegate.api: the ASGI app of ``tidegate server`` (FnF RPC protocol; REST, MNS and console later)."""

from __future__ import annotations

from tidegate.api.app import create_app
from tidegate.api.context import DEFAULT_REGION, AppContext

__all__ = ["DEFAULT_REGION", "AppContext", "create_app"]
