"""Stand-in for the order-management sample's ``get-canceled-orders``: a fixed list of order ids."""

from __future__ import annotations

from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    return {"order_ids": ["o-1", "o-2", "o-3"], "source": "stand-in"}
