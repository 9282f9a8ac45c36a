"""Removing the executions of deleted flows in the background, a bounded batch per transaction."""

from __future__ import annotations

import logging
import threading

from tidegate.store import Store

log = logging.getLogger("tidegate.runtime")

#: Executions removed per transaction (each with its history, tasks, inbox, timers and jobs).
PURGE_BATCH = 100


class FlowPurger:
    """Purges deleted flows' executions on one daemon thread, started when there is work.

    ``add(flow_id)`` queues a deleted flow; :meth:`sweep` queues every deleted flow that still has
    executions (e.g. left by a stop in the middle of a purge, or by a version that kept them).
    """

    def __init__(self, store: Store, batch: int = PURGE_BATCH) -> None:
        self.store = store
        self.batch = batch
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        #: Set whenever the queue is empty and no purge runs (for callers that wait for the end).
        self.idle = threading.Event()
        self.idle.set()

    def add(self, flow_id: str) -> None:
        """Queue a deleted flow's executions for removal."""
        with self._lock:
            if flow_id not in self._pending:
                self._pending.append(flow_id)
            self.idle.clear()
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._run, name="tidegate-purge", daemon=True)
                self._thread.start()

    def sweep(self) -> int:
        """Queue every deleted flow that still has executions; return how many flows were found."""
        found = self.store.deleted_flow_ids(limit=1000)
        for flow_id in found:
            self.add(flow_id)
        if found:
            log.info("purging the executions of %d deleted flow(s)", len(found))
        return len(found)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the current batch (what is left is found again by the next :meth:`sweep`)."""
        self._stopping.set()
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                if not self._pending:
                    self._thread = None
                    self.idle.set()
                    return
                flow_id = self._pending[0]
            try:
                done = self.store.purge_flow_executions(flow_id, self.batch) < self.batch
            except Exception:  # the store went away or failed: the next sweep finds the rest
                log.exception("purging the executions of deleted flow %s failed", flow_id)
                done = True
            if done:
                with self._lock:
                    self._pending.remove(flow_id)
        with self._lock:
            self._thread = None
            self.idle.set()
