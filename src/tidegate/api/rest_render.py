"""Store records → the JSON documents of the REST API (values, not JSON-in-strings; snake_case)."""

from __future__ import annotations

import json
from typing import Any

from tidegate.engine import rfc3339_ms
from tidegate.runtime.nodes import node_state
from tidegate.status import ExecutionStatus
from tidegate.store import ExecutionRecord, FlowRecord, HistoryRow, NodeRecord, ScheduleRecord, WaitingTask

__all__ = ["event_doc", "execution_doc", "flow_doc", "node_doc", "schedule_doc", "waiting_task_doc"]


def _parsed(text: str | None) -> Any:
    return None if not text else json.loads(text)


def _time(ms: int | None) -> str | None:
    return None if ms is None else rfc3339_ms(ms)


def flow_doc(f: FlowRecord) -> dict[str, Any]:
    """A flow as JSON."""
    return {
        "name": f.name,
        "id": f.id,
        "definition": f.definition,
        "description": f.description,
        "type": f.type,
        "role_arn": f.role_arn,
        "created_time": rfc3339_ms(f.created_ms),
        "last_modified_time": rfc3339_ms(f.modified_ms),
    }


def execution_doc(e: ExecutionRecord) -> dict[str, Any]:
    """An execution as JSON (input and output as values, not strings)."""
    return {
        "name": e.name,
        "flow_name": e.flow_name,
        "status": e.status,
        "input": _parsed(e.input),
        "output": _parsed(e.output) if e.status == ExecutionStatus.SUCCEEDED else None,
        "error": e.error,
        "cause": e.cause,
        "started_time": rfc3339_ms(e.started_ms),
        "stopped_time": _time(e.stopped_ms) if e.ended else None,
        "definition": e.definition,
    }


def event_doc(h: HistoryRow) -> dict[str, Any]:
    """A history event as JSON; ``detail`` is the event's detail object as stored.

    The detail of a function task's ``TaskSucceeded``/``TaskFailed``/``TaskSubmitted`` also holds the
    invocation's ``requestId``, ``logTail``, ``logBytes`` and (failed) ``stackTrace`` (docs/engine.md).
    """
    return {
        "event_id": h.event_id,
        "schedule_event_id": h.schedule_event_id,
        "type": h.type,
        "step_name": h.step_name,
        "time": rfc3339_ms(h.time_ms),
        "detail": _parsed(h.detail),
    }


def schedule_doc(s: ScheduleRecord) -> dict[str, Any]:
    """A schedule as JSON."""
    return {
        "name": s.name,
        "id": s.id,
        "flow_name": s.flow_name,
        "cron": s.cron,
        "payload": _parsed(s.payload),
        "enable": s.enable,
        "description": s.description,
        "created_time": rfc3339_ms(s.created_ms),
        "last_modified_time": rfc3339_ms(s.modified_ms),
        "next_fire_time": _time(s.next_fire_ms),
    }


def waiting_task_doc(t: WaitingTask, now_ms: int) -> dict[str, Any]:
    """A task waiting on a callback as JSON; ``age_seconds`` is how long it has waited at ``now_ms``."""
    return {
        "flow_name": t.flow_name,
        "execution_name": t.execution_name,
        "task": t.task_key,
        "step_name": t.step_name,
        "resource": t.resource,
        "pattern": t.pattern,
        "attempt": t.attempt,
        "waiting_since": rfc3339_ms(t.created_ms),
        "age_seconds": max(0, now_ms - t.created_ms) // 1000,
        "heartbeat_seconds": None if t.heartbeat_ms is None else t.heartbeat_ms // 1000,
        "last_heartbeat": _time(t.last_heartbeat_ms),
        "deadline": _time(t.deadline_ms),
    }


def node_doc(n: NodeRecord, now_ms: int) -> dict[str, Any]:
    """A server sharing the store as JSON: its state and heartbeat age by this server's clock ``now_ms``."""
    return {
        "id": n.id,
        "address": n.address,
        "version": n.version,
        "host": n.host,
        "pid": n.pid,
        "state": node_state(n, now_ms).value,
        "started_time": rfc3339_ms(n.started_ms),
        "last_seen_time": rfc3339_ms(n.last_seen_ms),
        "last_seen_age_ms": max(0, now_ms - n.last_seen_ms),
        "released_time": _time(n.released_ms),
        "stopped_time": _time(n.stopped_ms),
    }
