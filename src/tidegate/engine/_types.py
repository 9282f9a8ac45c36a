"""Statuses, history event types and the history event record (docs/engine.md, History)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tidegate.errors import InvalidTransition
from tidegate.jsontext import compact
from tidegate.status import TERMINAL, ExecutionStatus


class StaleEvent(InvalidTransition):
    """The event no longer applies to the execution (already done, cancelled, timed out or ended)."""


# The only legal status changes; terminal statuses are final.
TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.STARTING: frozenset({ExecutionStatus.RUNNING, *TERMINAL}),
    ExecutionStatus.RUNNING: TERMINAL,
    **{s: frozenset() for s in TERMINAL},
}


class EventType(StrEnum):
    """Every history event type of the service (docs/engine.md, History)."""

    STEP_ENTERED = "StepEntered"
    STEP_STARTED = "StepStarted"
    STEP_SUCCEEDED = "StepSucceeded"
    STEP_FAILED = "StepFailed"
    STEP_EXITED = "StepExited"
    BRANCH_ENTERED = "BranchEntered"
    BRANCH_EXITED = "BranchExited"
    ITERATION_ENTERED = "IterationEntered"
    ITERATION_EXITED = "IterationExited"
    TASK_SCHEDULED = "TaskScheduled"
    TASK_STARTED = "TaskStarted"
    TASK_SUBMITTED = "TaskSubmitted"
    TASK_SUBMIT_FAILED = "TaskSubmitFailed"
    TASK_SUCCEEDED = "TaskSucceeded"
    TASK_FAILED = "TaskFailed"
    TASK_TIMED_OUT = "TaskTimedOut"
    EXECUTION_STARTED = "ExecutionStarted"
    EXECUTION_STOPPED = "ExecutionStopped"
    EXECUTION_SUCCEEDED = "ExecutionSucceeded"
    EXECUTION_FAILED = "ExecutionFailed"
    EXECUTION_TIMED_OUT = "ExecutionTimedOut"


def rfc3339_ms(ms: int) -> str:
    """Format epoch milliseconds as RFC 3339 UTC with milliseconds, e.g. ``2019-05-05T08:33:59.384Z``."""
    return f"{_rfc3339_s(ms // 1000)}.{ms % 1000:03d}Z"


@functools.lru_cache(maxsize=256)
def _rfc3339_s(seconds: int) -> str:
    # Events come in bursts within the same second: strftime once per second, not once per event.
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_rfc3339_ms(text: str) -> int:
    """Parse an RFC 3339 timestamp to epoch milliseconds (a missing offset means UTC).

    Raises:
        ValueError: the text is not an RFC 3339 timestamp.
    """
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    dt = datetime.fromisoformat(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


@dataclass(slots=True)
class HistoryEvent:
    """One event of an execution's history.

    ``detail`` is a dict with lower-camel keys; :meth:`to_api` renders it as the JSON string of
    GetExecutionHistory.
    """

    event_id: int
    schedule_event_id: int
    type: EventType
    step_name: str
    time_ms: int
    detail: dict[str, Any] = field(default_factory=dict)

    def to_api(self) -> dict[str, Any]:
        """The GetExecutionHistory form of this event."""
        return {
            "EventId": self.event_id,
            "ScheduleEventId": self.schedule_event_id,
            "Type": str(self.type),
            "StepName": self.step_name,
            "Time": rfc3339_ms(self.time_ms),
            "EventDetail": compact(self.detail),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (for storage)."""
        return {
            "event_id": self.event_id,
            "schedule_event_id": self.schedule_event_id,
            "type": str(self.type),
            "step_name": self.step_name,
            "time_ms": self.time_ms,
            "detail": self.detail,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HistoryEvent:
        """Rebuild an event from :meth:`to_dict` output."""
        return cls(
            event_id=int(d["event_id"]),
            schedule_event_id=int(d["schedule_event_id"]),
            type=EventType(d["type"]),
            step_name=str(d["step_name"]),
            time_ms=int(d["time_ms"]),
            detail=dict(d["detail"]),
        )
