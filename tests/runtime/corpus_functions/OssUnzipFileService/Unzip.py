"""Stand-in for the oss-unzip sample's ``Unzip``: each zip takes two calls, resumed with ``marker``."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    key = req.get("key", "c.zip")
    if req["marker"] == "":
        return {"marker": f"{key}/part-2", "unzipped": f"{key}/part-1"}
    return {"marker": "", "unzipped": req["marker"]}
