"""Stand-in for the order-management sample's ``stock-management``: restocks a refunded order."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    # The iteration local (the refund step's output) is merged into this step's input.
    return {"restocked": req["order_id"], "after": req["refund_id"]}
