"""Stand-in function: ``{"parts": [a, b, …]}`` → ``{"total": a + b + …}``."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    """Sum ``parts``."""
    data = json.loads(event)
    return {"total": sum(int(p) for p in data.get("parts", []))}
