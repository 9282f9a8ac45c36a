"""Stand-in for the ROS template's function: echoes what Function Compute would tell it."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {
        "greeting": f"hello {req.get('who', 'world')}",
        "service": context.service.name,
        "qualifier": context.service.qualifier,
        "function": context.function.name,
    }
