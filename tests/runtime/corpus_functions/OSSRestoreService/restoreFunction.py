"""Stand-in for the oss-restore sample's ``restoreFunction``: starts restoring one archived object."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return {"restoring": req["fileName"]}
