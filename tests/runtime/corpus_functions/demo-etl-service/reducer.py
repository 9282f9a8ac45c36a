"""Stand-in for the ETL sample's ``reducer``: reports which shards it merged."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"reduced": len(req["shard_ids"]), "keys": sorted(req)}
