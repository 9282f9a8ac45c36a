"""Stand-in for the ETL sample's ``mapper``: sums one shard (the iteration's ``shard``)."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"sum": sum(req["shard"])}
