"""Stand-in for the fork-flows ``startSubflow``: would start a child execution that reports the token."""

from __future__ import annotations

import json
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    assert req["taskToken"], "a waitForCallback task must receive its token"
    return {"started": f"{req['executionName']}-{req['key']}"}
