"""The pause of a background loop after a failed round: growing, bounded, logged once per round."""

from __future__ import annotations

import logging

from tidegate.runtime.driver import describe_failure


class FailureBackoff:
    """Consecutive failed rounds of one loop: how long to pause before the next, and one log line each.

    The first failure logs its traceback; later ones log one line (the same failure every 30 s would
    otherwise fill the log). The pause doubles from ``first_s`` up to ``max_s``; a good round resets it.
    """

    def __init__(self, log: logging.Logger, what: str, *, first_s: float = 0.5, max_s: float = 30.0) -> None:
        self.log = log
        self.what = what
        self.first_s = first_s
        self.max_s = max_s
        self.failures = 0

    def failed(self, exc: Exception) -> float:
        """Count a failed round, log it and return the pause (seconds) before the next."""
        self.failures += 1
        pause = min(self.max_s, self.first_s * (1 << min(self.failures - 1, 30)))
        self.log.error(
            "%s failed (%d in a row, %s); next round in %g s",
            *(self.what, self.failures, describe_failure(exc), pause),
            exc_info=exc if self.failures == 1 else None,
        )
        return pause

    def succeeded(self) -> None:
        """A good round: the next failure starts from the first pause again."""
        if self.failures:
            self.log.info("%s works again after %d failed rounds", self.what, self.failures)
            self.failures = 0
