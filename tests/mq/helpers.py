"""Helpers of the message-service tests."""

from __future__ import annotations

import time
from collections.abc import Callable


class FakeClock:
    """A settable wall clock in epoch milliseconds (starts at the real time)."""

    def __init__(self) -> None:
        self.ms = time.time_ns() // 1_000_000

    def __call__(self) -> int:
        return self.ms

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.ms += int(seconds * 1000)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.01) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; return whether it held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
