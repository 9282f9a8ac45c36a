"""Read ``/metrics`` the way Prometheus does: parsed by prometheus_client's own text parser."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client.parser import text_string_to_metric_families

#: Every family ``/metrics`` serves (docs/operations.md, Metrics), by the name the parser gives it.
FAMILIES = frozenset(
    {
        "tidegate_executions_started",
        "tidegate_executions_ended",
        "tidegate_step_duration_seconds",
        "tidegate_task_duration_seconds",
        "tidegate_callback_wait_seconds",
        "tidegate_tasks_waiting_callback",
        "tidegate_queue_messages",
        "tidegate_queue_oldest_message_age_seconds",
        "tidegate_push_deliveries",
        "tidegate_function_invocations",
        "tidegate_function_duration_seconds",
        "tidegate_http_requests",
        "tidegate_http_request_duration_seconds",
        "tidegate_store_write_seconds",
        "tidegate_store_commit_transitions",
        "tidegate_driver_lag_seconds",
        "tidegate_executor_jobs_running",
        "tidegate_nodes",
        "tidegate_node_last_seen_age_seconds",
    }
)

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> tuple[set[str], Samples]:
    """The family names and every sample (name and labels → value) of a ``/metrics`` body."""
    names: set[str] = set()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        for s in family.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    return names, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value, 0 when it is absent (a labelled child not yet created)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (others free)."""
    want = labels.items()
    return sum(v for (n, ls), v in samples.items() if n == name and want <= dict(ls).items())


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much the samples of ``name`` matching ``labels`` grew between two scrapes."""
    return total(after, name, **labels) - total(before, name, **labels)


def labels_of(samples: Samples, name: str) -> list[Mapping[str, str]]:
    """The label sets of every sample of ``name``."""
    return [dict(ls) for (n, ls) in samples if n == name]
