"""Stand-in for the parallel-wait-any-demo ``callback``: answers for its branch's ``key``."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"status": f"{req['key']} done", "token_seen": req["task_token"]}
