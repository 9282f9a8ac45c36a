"""Stand-in for the oss-batch-process ``listObjects``: two pages of keys chained by ``marker``."""

from __future__ import annotations

import json
from typing import Any

PAGES = {
    "": {"keys": ["cat.jpg", "broken.jpg"], "marker": "broken.jpg", "hasMore": True},
    "broken.jpg": {"keys": ["dog.jpg"], "marker": "dog.jpg", "hasMore": False},
}


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return dict(PAGES[req["marker"]])
