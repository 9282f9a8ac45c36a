"""Stand-in for the trip-booking sample's function of this name: raises its custom error when asked to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class BookTrainTicketError(Exception):
    """The sample's custom error: its class name is the task's error name."""


def handler(event: bytes, context: Any) -> dict[str, Any]:
    req = json.loads(event)
    with Path(__file__).with_suffix(".calls").open("a") as log:  # one line per invocation
        log.write(json.dumps(req) + "\n")
    if req.get("result") == "failed":
        raise BookTrainTicketError("bookTrainTicket failed: result=failed")
    return {"transaction_id": "train-tx-1"}
