"""Retention: ended executions are removed, with all they own, once they have been ended for a while.

A daemon thread sweeps the store now and then (every tenth of the retention period, between a second and
ten minutes): it removes executions that ended before ``now - retention`` in bounded batches, one
transaction each with a pause between them, so that it never holds the write lock for long, and then
gives the freed pages of a SQLite file back to the file system (:meth:`Store.reclaim_space`). Running
executions are never removed, nor a child flow execution whose parent still runs (the store's rule).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

from tidegate.clock import now_ms
from tidegate.errors import ConfigurationError
from tidegate.store import Store

log = logging.getLogger("tidegate.runtime")

#: Executions removed per transaction (each with its history, tasks, inbox, timers, jobs...).
RETENTION_BATCH = 500
#: Seconds between two batches of one sweep: other writers get the write lock meanwhile.
BATCH_PAUSE_S = 0.1
#: Pages given back to the file system per transaction after a sweep (16 MiB of 4 KiB pages).
RECLAIM_PAGES = 4096
#: The default retention period, as the ``--retention`` option and ``TIDEGATE_RETENTION`` spell it.
DEFAULT_RETENTION = "30d"
#: The longest period accepted (about 100 years): larger numbers are a typo, not a wish.
MAX_RETENTION_MS = 100 * 366 * 86_400_000

_UNITS_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_DURATION_RE = re.compile(r"^([0-9]{1,12})([smhd])$")


def parse_retention(text: str) -> int | None:
    """Parse a retention period (``30d``, ``12h``, ``90m``, ``45s``; ``off`` keeps executions for ever).

    Returns milliseconds, or None for ``off``. Raises ConfigurationError for anything else.
    """
    value = text.strip().lower()
    if value == "off":
        return None
    match = _DURATION_RE.match(value)
    if match is None:
        raise ConfigurationError(
            f"retention {text[:40]!r} is not a period: a whole number and a unit s, m, h or d (e.g. 30d), or off"
        )
    ms = int(match.group(1)) * _UNITS_MS[match.group(2)]
    if not 1000 <= ms <= MAX_RETENTION_MS:
        raise ConfigurationError(f"retention {text[:40]!r} must be between 1s and 36600d")
    return ms


class Retention:
    """Removes executions that ended more than ``retention_ms`` ago, on one daemon thread.

    Args:
        store: the store.
        retention_ms: how long an ended execution is kept.
        clock: epoch milliseconds now.
        batch: executions removed per transaction.
        pause_s: seconds between two batches.
        interval_s: seconds between sweeps (default: a tenth of the period, between 1 s and 10 min).
    """

    def __init__(
        self,
        store: Store,
        retention_ms: int,
        *,
        clock: Callable[[], int] = now_ms,
        batch: int = RETENTION_BATCH,
        pause_s: float = BATCH_PAUSE_S,
        interval_s: float | None = None,
    ) -> None:
        if retention_ms < 1 or batch < 1 or pause_s < 0:
            raise ValueError("retention_ms and batch must be positive, pause_s not negative")
        self.store = store
        self.retention_ms = retention_ms
        self.clock = clock
        self.batch = batch
        self.pause_s = pause_s
        self.interval_s = interval_s if interval_s is not None else min(600.0, max(1.0, retention_ms / 10_000))
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: Sweeps finished since start (each removed everything due at its start, unless stopped).
        self.sweeps = 0

    def start(self) -> None:
        """Start sweeping in the background (the first sweep at once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="tidegate-retention", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the current batch; what is left is removed by the next start's sweeps."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def sweep(self) -> int:
        """Remove every execution that ended before now minus the period; return how many.

        A batch per transaction, :attr:`pause_s` between batches; returns early when stopping. Executions
        that end during the sweep are left to the next one (the cut-off is fixed at its start).
        """
        cutoff = self.clock() - self.retention_ms
        removed = 0
        while not self._stopping.is_set():
            n = self.store.remove_ended_executions(cutoff, self.batch)
            removed += n
            if n < self.batch or self._stopping.wait(self.pause_s):
                break
        if removed:
            log.info("retention: removed %d execution(s) ended more than %d s ago", removed, self.retention_ms // 1000)
            self._reclaim()
        return removed

    def _reclaim(self) -> None:
        """Give the freed pages back, a bounded number per transaction, as long as there are some."""
        while not self._stopping.is_set():
            if self.store.reclaim_space(RECLAIM_PAGES) < RECLAIM_PAGES or self._stopping.wait(self.pause_s):
                return

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.sweep()
            except Exception:  # the store failed or went away: the next sweep tries again
                log.exception("retention: removing ended executions failed")
            self.sweeps += 1
            self._stopping.wait(self.interval_s)
