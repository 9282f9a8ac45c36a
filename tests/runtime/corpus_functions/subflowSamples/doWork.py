"""Stand-in for the fork-flows ``doWork``: works on ``key``; the key ``bad`` raises ``WorkError``."""

from __future__ import annotations

import json
from typing import Any


class WorkError(Exception):
    """The work failed."""


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    if req["key"] == "bad":
        raise WorkError(f"cannot work on {req['key']}")
    return {"value": {"key": req["key"], "length": len(req["key"])}}
