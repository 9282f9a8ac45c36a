"""Stand-in function that, when armed, hangs on the first invocation of an attempt.

Armed (``state/hang-first`` exists), the first invocation writes ``state/<exec>.started`` and blocks: the
test kills the runtime meanwhile (the function worker exits with it) and the job's re-run after restart
(same attempt, same token) answers. Unarmed (the uninterrupted reference run) it answers at once.
"""

from __future__ import annotations

import json
import time
from typing import Any

from _journal import STATE, record  # type: ignore[import-not-found]

_HANG_S = 30.0


def handler(event: bytes, context: Any) -> dict[str, Any]:
    """Return ``{"value": 2 * value}`` (armed: only from the second invocation of the attempt on)."""
    data = json.loads(event)
    _, invocation = record(data["exec"], data["step"], data["token"])
    if invocation == 1 and (STATE / "hang-first").exists():
        (STATE / f"{data['exec']}.started").touch()
        # Stands for slow work: the runtime is killed meanwhile and this worker exits with it.
        deadline = time.monotonic() + _HANG_S
        while time.monotonic() < deadline:
            time.sleep(0.05)  # the slow work of the function under test, not a synchronisation
        raise TimeoutError("the runtime was expected to be killed during this invocation")
    return {"value": int(data.get("value", 0)) * 2}
