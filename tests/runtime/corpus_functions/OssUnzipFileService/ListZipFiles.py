"""Stand-in for the oss-unzip sample's ``ListZipFiles``: two pages of zip keys, chained by ``marker``."""

from __future__ import annotations

import json
from typing import Any

PAGES = {
    "": {"keys": ["a.zip", "b.zip"], "marker": "b.zip", "has_more": True},
    "b.zip": {"keys": ["c.zip"], "marker": "", "has_more": False},
}


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    return dict(PAGES[req["marker"]])
