"""Stand-in for the subflow-best-practice ``audit``: approves messages; ``garbage`` gets a non-object reply."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> Any:
    req = json.loads(event)
    if req["auditMessage"] == "garbage":
        return ["not", "an", "object"]  # the engine must fail the task with FnF.InvalidLocal
    return {"audited": True, "result": f"approved: {req['auditMessage']}", "reviewer": "bot"}
