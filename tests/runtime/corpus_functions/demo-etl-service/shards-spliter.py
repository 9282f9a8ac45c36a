"""Stand-in for the ETL sample's ``shards-spliter``: splits the input records into shards of ``shardSize``."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    records, size = req["records"], req["shardSize"]
    shards = [records[i : i + size] for i in range(0, len(records), size)]
    return {"shards": shards, "shard_ids": list(range(len(shards))), "unused": "not mapped"}
