"""Stand-in function that fails its first ``failures`` attempts with ``FlakyError``.

The decision depends on the attempt (distinct task tokens in the journal), not on how many invocations
happened, so a job re-run after a crash cannot change the execution's history.
"""

from __future__ import annotations

import json
from typing import Any

from _journal import record  # type: ignore[import-not-found]


class FlakyError(Exception):
    """The planned failure of an early attempt."""


def handler(event: bytes, context: Any) -> dict[str, Any]:
    """Fail attempts 1..failures, then return ``{"value": value + 1, "attempt": n}``."""
    data = json.loads(event)
    attempt, _ = record(data["exec"], data["step"], data["token"])
    if attempt <= int(data["failures"]):
        raise FlakyError(f"{data['step']}: attempt {attempt} fails as planned")
    return {"value": int(data.get("value", 0)) + 1, "attempt": attempt}
