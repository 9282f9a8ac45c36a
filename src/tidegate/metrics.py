"""The server's metrics, served as ``/metrics`` in the Prometheus text format (docs/operations.md, Metrics).

A leaf module (layer 1): the packages that count things (the store's write path, the message service, the
runtime, the protocols) import the families from here; ``app`` renders :data:`REGISTRY`. The families live
once per process: every node serves its own process's counts.

Labels stay low-cardinality: flow and function names are bounded by what users create, and
:class:`BoundedLabel` caps them (later names count as ``other``); protocol actions come from fixed sets
and anything else counts as ``other``. Execution names and ids are never labels.

Hot paths bind their label children once (:func:`http_child`, the callers' caches) so a request costs a
dict look-up and a few lock-protected adds, no label dict built per request.
"""

from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.exposition import generate_latest

__all__ = [
    "CONTENT_TYPE",
    "OTHER",
    "REGISTRY",
    "BoundedLabel",
    "enabled",
    "render",
    "set_enabled",
]

#: The label value of everything beyond a bounded set.
OTHER = "other"

#: The registry ``/metrics`` renders (not prometheus_client's global one: only tidegate's families).
REGISTRY = CollectorRegistry(auto_describe=True)

#: The Content-Type of :func:`render`'s output: the text format every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_enabled = True

# No ``*_created`` series: a start time per labelled child doubles the output and nothing here needs it.
disable_created_metrics()  # type: ignore[no-untyped-call]  # (untyped in prometheus_client)


def enabled() -> bool:
    """Whether counting is on (``tidegate server --no-metrics`` turns it off for the whole process)."""
    return _enabled


def set_enabled(on: bool) -> None:
    """Turn counting on or off for the process (hooks check :func:`enabled` before counting)."""
    global _enabled
    _enabled = on


def render() -> bytes:
    """Every family of :data:`REGISTRY` in the Prometheus text format (collectors run now)."""
    return generate_latest(REGISTRY)


class BoundedLabel:
    """Pass through at most ``limit`` distinct values of a label; every later one becomes ``other``.

    Names users create (flows, functions) are bounded by what they create; this caps what one process
    exports even so. Thread-safe; a value seen before costs one set look-up.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        with self._lock:
            if len(self._seen) < self.limit:
                self._seen.add(value)
                return value
        return OTHER


#: Flow names as labels (at most this many distinct flows per process; later ones are ``other``).
flow_label = BoundedLabel(1000)
#: Function names as labels.
function_label = BoundedLabel(1000)

# Seconds buckets: 1 ms … 5 min, for steps, tasks and callbacks that may wait on people or other systems.
_LONG = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
# Seconds buckets: 100 µs … 10 s, for requests and store writes.
_SHORT = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

# --- executions -----------------------------------------------------------------------------------------

executions_started = Counter(
    "tidegate_executions_started", "Executions started (their ExecutionStarted committed).", ["flow"], registry=REGISTRY
)
executions_ended = Counter(
    "tidegate_executions_ended",
    "Executions ended, by terminal status (Succeeded, Failed, TimedOut, Stopped).",
    ["flow", "status"],
    registry=REGISTRY,
)
step_duration = Histogram(
    "tidegate_step_duration_seconds",
    "Time from a step's StepEntered to its StepExited, both committed by this process.",
    ["flow"],
    buckets=_LONG,
    registry=REGISTRY,
)
task_duration = Histogram(
    "tidegate_task_duration_seconds",
    "Time from a task's TaskScheduled to its outcome (succeeded, failed or timed out), by resource kind and pattern.",
    ["flow", "resource", "pattern"],
    buckets=_LONG,
    registry=REGISTRY,
)
callback_wait = Histogram(
    "tidegate_callback_wait_seconds",
    "Time from a waitForCallback task's TaskScheduled to the report of its outcome.",
    ["flow", "resource"],
    buckets=_LONG,
    registry=REGISTRY,
)

# --- runtime ---------------------------------------------------------------------------------------------

driver_lag = Histogram(
    "tidegate_driver_lag_seconds",
    "How late the driver is: now minus the due time of the earliest work (timer or event) it then claims.",
    buckets=_SHORT,
    registry=REGISTRY,
)
executor_jobs_running = Gauge(
    "tidegate_executor_jobs_running", "Task jobs this process's executor is running now.", registry=REGISTRY
)

# --- functions -------------------------------------------------------------------------------------------

function_invocations = Counter(
    "tidegate_function_invocations",
    "Function invocations by this process, by outcome (ok, error).",
    ["function", "outcome"],
    registry=REGISTRY,
)
function_duration = Histogram(
    "tidegate_function_duration_seconds",
    "Duration of function invocations by this process.",
    ["function"],
    buckets=_LONG,
    registry=REGISTRY,
)

# --- message service -------------------------------------------------------------------------------------

push_deliveries = Counter(
    "tidegate_push_deliveries",
    "Push delivery attempts by outcome (delivered, retry, failed, dropped).",
    ["outcome"],
    registry=REGISTRY,
)

# --- HTTP ------------------------------------------------------------------------------------------------

http_requests = Counter(
    "tidegate_http_requests",
    "HTTP requests by protocol (rpc, mns, rest, console, trigger, other), action and status code.",
    ["protocol", "action", "status"],
    registry=REGISTRY,
)
http_duration = Histogram(
    "tidegate_http_request_duration_seconds",
    "HTTP request latency until the response is handed to the server, by protocol and action.",
    ["protocol", "action"],
    buckets=_SHORT,
    registry=REGISTRY,
)

_http_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def http_child(protocol: str, action: str, status: int) -> tuple[Counter, Histogram]:
    """The pre-bound (counter, histogram) children of one (protocol, action, status); the callers bound
    ``action`` to a fixed set, so the cache stays small."""
    key = (protocol, action, status)
    child = _http_children.get(key)
    if child is None:
        child = (http_requests.labels(protocol, action, str(status)), http_duration.labels(protocol, action))
        _http_children[key] = child
    return child


# --- store -----------------------------------------------------------------------------------------------

store_write_duration = Histogram(
    "tidegate_store_write_seconds",
    "Store write transactions of this process: begin to acknowledged commit (on disk when synchronous=full).",
    buckets=_SHORT,
    registry=REGISTRY,
)
store_commit_transitions = Histogram(
    "tidegate_store_commit_transitions",
    "Execution transitions committed per store transaction (the driver's group commit batches them).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
    registry=REGISTRY,
)
