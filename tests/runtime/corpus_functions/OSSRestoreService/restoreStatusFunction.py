"""Stand-in for the oss-restore sample's ``restoreStatusFunction``.

Reports ``running`` for the first ``runningPolls`` calls (a counter file next to this one), then
``finalStatus`` (default ``success``), so the poll loop runs a known number of rounds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    path = Path(__file__).with_suffix(".count")
    n = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(n))
    if n <= int(req.get("runningPolls", 3)):
        return {"status": "running", "polls": n}
    return {"status": req.get("finalStatus", "success"), "polls": n}
