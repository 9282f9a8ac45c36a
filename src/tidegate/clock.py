"""Wall-clock time in epoch milliseconds: the one clock every component reads (leaf module, no imports of ours)."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Return the current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000
