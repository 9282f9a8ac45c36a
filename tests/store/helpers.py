"""Builders shared by the store tests."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tidegate.store import ExecutionRecord, FlowRecord, HistoryWrite, Store, TransitionWrite


def now_ms() -> int:
    """Wall clock in ms."""
    return time.time_ns() // 1_000_000


def make_flow(store: Store, name: str = "flow1", created_ms: int = 1) -> FlowRecord:
    """Create a flow and return it."""
    return store.create_flow(
        FlowRecord(name=name, id=str(uuid.uuid4()), definition="version: v1", created_ms=created_ms, modified_ms=1)
    )


def start(store: Store, name: str, flow: str = "flow1", started_ms: int = 1000, **extra: Any) -> ExecutionRecord:
    """Start an execution (its start event is ``{"type": "Start", "name": name}``)."""
    record, created = store.create_execution(
        ExecutionRecord(
            flow_name=flow, name=name, definition="version: v1", input="{}", started_ms=started_ms, **extra
        ),
        {"type": "Start", "name": name},
    )
    assert created
    return record


def events(first: int, count: int, time_ms: int = 1) -> list[HistoryWrite]:
    """``count`` history events with ids from ``first``."""
    return [
        HistoryWrite(
            event_id=i,
            schedule_event_id=i - 1,
            type="StepEntered",
            step_name=f"s{i}",
            time_ms=time_ms,
            detail={"input": {"i": i}},
        )
        for i in range(first, first + count)
    ]


def step(record: ExecutionRecord, n_events: int = 1, **changes: Any) -> TransitionWrite:
    """A transition that moves ``record`` one version forward with ``n_events`` events."""
    fields: dict[str, Any] = {
        "execution_id": record.id,
        "expected_version": record.version,
        "state": {"v": record.version + 1},
        "status": "Running",
        "events": events(record.event_count + 1, n_events),
    }
    fields.update(changes)
    return TransitionWrite(**fields)
