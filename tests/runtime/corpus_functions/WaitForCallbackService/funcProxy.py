"""Stand-in for the wait-for-callback-task ``funcProxy``: would invoke S/F asynchronously with the token."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"status": f"async invoked {req['serviceName']}/{req['functionName']}"}
