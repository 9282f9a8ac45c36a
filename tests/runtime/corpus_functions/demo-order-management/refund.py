"""Stand-in for the order-management sample's ``refund``: refunds one order."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"refund_id": f"refund-{req['order_id']}"}
