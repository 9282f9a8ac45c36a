"""Stand-in function: ``{"value": n}`` → ``{"value": 2n}`` (deterministic, idempotent)."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    """Double ``value`` (0 when missing)."""
    data = json.loads(event)
    return {"value": int(data.get("value", 0)) * 2}
