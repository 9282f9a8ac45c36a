"""Stand-in for the post-execution-actions child's ``long-running``: runs until a ``release`` file appears.

The test stops the child execution while this runs, then releases it (the late result is stale).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


def handler(event: bytes, context: Any) -> dict[str, Any]:
    release = Path(__file__).with_name("release")
    deadline = time.monotonic() + 30
    while not release.exists() and time.monotonic() < deadline:
        time.sleep(0.02)  # the function under test waits for its release file (another process)
    return {"finished": release.exists()}
