"""The runtime's metrics: what committed transitions say, and the gauges read from the store at scrape time.

:class:`TransitionMetrics` is the store's transition observer (:attr:`tidegate.store.Store.transition_observer`):
it runs after each commit, in the committing thread, and reads only the history events of the batch. A
duration needs its start event: a step's StepEntered and a task's TaskScheduled are remembered (bounded,
oldest dropped first) until the matching StepExited or task outcome commits in this process. A step or task
that ends in another process, or after a restart, is not observed (its count still is, where it ends).

:class:`StoreGauges` reads the queue gauges and the tasks waiting on callbacks from the store with one query
each per scrape, cached for ``ttl_s`` seconds: they are the same on every node sharing the store.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from tidegate import metrics
from tidegate.engine import EventType
from tidegate.errors import TidegateError
from tidegate.flow.resources import parse_action, parse_resource_arn
from tidegate.mq import QueueService
from tidegate.runtime.nodes import NodeState, node_state
from tidegate.status import ExecutionStatus
from tidegate.store import Store, TransitionWrite

__all__ = ["MAX_PENDING", "StoreGauges", "TransitionMetrics", "install", "resource_kind"]

MAX_PENDING = 20_000
"""Start events (open steps and tasks) remembered for durations; beyond it the oldest are forgotten."""

_ENDED = {
    str(EventType.EXECUTION_SUCCEEDED): str(ExecutionStatus.SUCCEEDED),
    str(EventType.EXECUTION_FAILED): str(ExecutionStatus.FAILED),
    str(EventType.EXECUTION_TIMED_OUT): str(ExecutionStatus.TIMED_OUT),
    str(EventType.EXECUTION_STOPPED): str(ExecutionStatus.STOPPED),
}
_STARTED = str(EventType.EXECUTION_STARTED)
_STEP_ENTERED = str(EventType.STEP_ENTERED)
_STEP_EXITED = str(EventType.STEP_EXITED)
_TASK_SCHEDULED = str(EventType.TASK_SCHEDULED)
_TASK_ENDED = frozenset({str(EventType.TASK_SUCCEEDED), str(EventType.TASK_FAILED), str(EventType.TASK_TIMED_OUT)})
_CALLBACK = "waitForCallback"
_PATTERNS = frozenset({"requestResponse", "sync", _CALLBACK})


@functools.lru_cache(maxsize=1024)
def resource_kind(text: str) -> str:
    """The resource kind (``function``, ``queue``, ``topic``, ``flow``…) of a task's target text, or ``other``."""
    for parse in (parse_resource_arn, parse_action):
        try:
            return parse(text).kind.name.lower()
        except TidegateError:
            continue
    return metrics.OTHER


def _detail(detail: Mapping[str, Any] | str) -> Mapping[str, Any]:
    return detail if isinstance(detail, Mapping) else {}


class TransitionMetrics:
    """Counts executions and observes step, task and callback durations from committed transitions."""

    def __init__(self, limit: int = MAX_PENDING) -> None:
        self.limit = limit
        # (execution id, start event id) -> (time ms, labels); StepEntered and TaskScheduled both
        self._open: OrderedDict[tuple[int, int], tuple[int, tuple[str, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, batch: Sequence[TransitionWrite]) -> None:
        if not metrics.enabled():
            return
        metrics.store_commit_transitions.observe(len(batch))
        for t in batch:
            if t.events:
                self._observe(t)

    def pending(self) -> int:
        """Start events remembered now (for tests and the bound)."""
        return len(self._open)

    def _remember(self, key: tuple[int, int], time_ms: int, labels: tuple[str, ...]) -> None:
        with self._lock:
            self._open[key] = (time_ms, labels)
            while len(self._open) > self.limit:
                self._open.popitem(last=False)

    def _forget(self, key: tuple[int, int]) -> tuple[int, tuple[str, ...]] | None:
        with self._lock:
            return self._open.pop(key, None)

    def _observe(self, t: TransitionWrite) -> None:
        state = t.state
        flow = metrics.flow_label(str(state.get("flow_name", ""))) if state is not None else metrics.OTHER
        ex = t.execution_id
        for e in t.events:
            kind = e.type
            if kind == _STEP_ENTERED:
                self._remember((ex, e.event_id), e.time_ms, ())
            elif kind == _STEP_EXITED:
                if (start := self._forget((ex, e.schedule_event_id))) is not None:
                    metrics.step_duration.labels(flow).observe(max(0, e.time_ms - start[0]) / 1000)
            elif kind == _TASK_SCHEDULED:
                detail = _detail(e.detail)
                pattern = str(detail.get("pattern", ""))
                labels = (resource_kind(str(detail.get("resourceArn", ""))), pattern if pattern in _PATTERNS else "")
                self._remember((ex, e.event_id), e.time_ms, labels)
            elif kind in _TASK_ENDED:
                if (start := self._forget((ex, e.schedule_event_id))) is not None:
                    seconds = max(0, e.time_ms - start[0]) / 1000
                    resource, pattern = start[1]
                    metrics.task_duration.labels(flow, resource, pattern or metrics.OTHER).observe(seconds)
                    if pattern == _CALLBACK:
                        metrics.callback_wait.labels(flow, resource).observe(seconds)
            elif kind == _STARTED:
                metrics.executions_started.labels(flow).inc()
            elif (status := _ENDED.get(kind)) is not None:
                metrics.executions_ended.labels(flow, status).inc()


# --- store-derived gauges -------------------------------------------------------------------------------

MAX_QUEUES = 1000
"""Queues exported per scrape (in name order); a store with more exports the first ones."""
MAX_NODES = 100
"""Nodes whose heartbeat age is exported per scrape (oldest start first)."""


class StoreGauges(Collector):
    """The queue gauges and the tasks waiting on callbacks, read from the store at most every ``ttl_s``."""

    def __init__(self, store: Store, clock: Callable[[], int], ttl_s: float = 5.0) -> None:
        self.store = store
        self.queues = QueueService(store.database, clock)
        self.clock = clock
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._at = -float("inf")
        self._families: list[GaugeMetricFamily] = []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:  # concurrent scrapes share one read
            if time.monotonic() - self._at >= self.ttl_s:
                self._families = self._read()
                self._at = time.monotonic()
            families = self._families
        yield from families

    def _read(self) -> list[GaugeMetricFamily]:
        now = self.clock()
        queues = self.queues.gauges(MAX_QUEUES)
        waiting = self.store.count_tasks_waiting()
        depth = GaugeMetricFamily(
            "tidegate_queue_messages",
            "Messages in a queue by state: visible (receivable), inflight (received, not deleted), delayed.",
            labels=["queue", "state"],
        )
        oldest = GaugeMetricFamily(
            "tidegate_queue_oldest_message_age_seconds",
            "Age of the oldest unexpired message of a queue (0 when it is empty).",
            labels=["queue"],
        )
        for row in queues:
            name = str(row["queue"])
            for state in ("visible", "inflight", "delayed"):
                depth.add_metric([name, state], int(row[state]))
            first = row["oldest_ms"]
            oldest.add_metric([name], 0.0 if first is None else max(0, now - int(first)) / 1000)
        tasks = GaugeMetricFamily(
            "tidegate_tasks_waiting_callback",
            "Open tasks with no invocation pending: waiting for a report (a callback) from outside.",
        )
        tasks.add_metric([], waiting)
        return [depth, oldest, tasks, *self._nodes(now)]

    def _nodes(self, now: int) -> list[GaugeMetricFamily]:
        nodes = self.store.list_nodes()
        live = GaugeMetricFamily("tidegate_nodes", "Servers sharing the store whose heartbeat is current (live).")
        live.add_metric([], sum(1 for n in nodes if node_state(n, now) == NodeState.LIVE))
        age = GaugeMetricFamily(
            "tidegate_node_last_seen_age_seconds",
            "Seconds since each server sharing the store last beat, by this server's clock (stopped and dead "
            "ones too, until their rows are removed).",
            labels=["node", "state"],
        )
        for n in nodes[:MAX_NODES]:
            age.add_metric([n.id, node_state(n, now).value], max(0, now - n.last_seen_ms) / 1000)
        return [live, age]


def install(store: Store) -> TransitionMetrics | None:
    """Observe ``store``'s committed transitions and time the writes of its database.

    Returns the observer, or None when metrics are off (nothing is installed: no cost per commit).
    """
    if not metrics.enabled():
        return None
    observer = TransitionMetrics()
    store.transition_observer = observer
    store.database.write_observer = metrics.store_write_duration.observe
    return observer
