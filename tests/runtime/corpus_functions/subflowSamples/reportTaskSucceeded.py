"""Stand-in for the fork-flows ``reportTaskSucceeded``: would call ReportTaskSucceeded with ``output``."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"reported": "succeeded", "reportedOutput": req["output"], "token": req["taskToken"]}
