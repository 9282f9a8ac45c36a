"""Stand-in for the oss-restore sample's ``listArchiveFiles``: two pages of archived objects.

Like the original (``'end': not resp.is_truncated``) it returns ``end`` as a JSON boolean, which the flow
compares with the string ``"true"``.
"""

from __future__ import annotations

import json
from typing import Any

PAGES: dict[str, dict[str, Any]] = {
    "": {"files": ["a.log", "b.log"], "marker": "b.log", "end": False},
    "b.log": {"files": ["c.log"], "marker": "", "end": True},
}


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"bucketName": req["bucketName"], "unmapped": 1, **PAGES[req["marker"]]}
