"""Stand-in for the trip-booking sample's ``sendAlert``: records the alert it would send."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"alerted": req["alert_email_address"], "order": req["trip_order_id"]}
