"""Stand-in for the fork-flows ``reportTaskFailed``: would call ReportTaskFailed with error and cause."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"reported": "failed", "error": req["error"], "cause": req["cause"], "token": req["taskToken"]}
