"""Wall-clock time in epoch milliseconds: the one clock every component reads (leaf module, no imports of ours)."""

from __future__ import annotations

import time
from collections.abc import Callable

#: A source of "now" in epoch milliseconds (:func:`now_ms`, or a pinned one in tests).
Clock = Callable[[], int]


def now_ms() -> int:
    """Return the current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000
