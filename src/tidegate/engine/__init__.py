"""tidegate.engine: the pure, deterministic workflow interpreter (no I/O, no clock, no randomness).

``start(flow, …)`` begins an execution and ``apply(flow, state, event, …)`` applies one runtime event;
each returns a :class:`Transition` (new state, history events to append, commands to run). See
``docs/engine.md`` for the semantics and every decision taken where the service's documentation is silent.
"""

from __future__ import annotations

from tidegate.engine._api import TokenMinter, Transition, apply, start
from tidegate.engine._machine import FOREACH_WINDOW, MAX_EVENTS, RUNTIME_ERROR
from tidegate.engine._messages import (
    START,
    CancelTask,
    CancelTimer,
    Command,
    EngineEvent,
    InvokeTask,
    StartTimer,
    StopRequested,
    TaskFailed,
    TaskSubmitted,
    TaskSucceeded,
    TimerFired,
    command_from_dict,
    event_from_dict,
    start_event,
)
from tidegate.engine._state import ExecutionState
from tidegate.engine._types import (
    TRANSITIONS,
    EventType,
    HistoryEvent,
    StaleEvent,
    parse_rfc3339_ms,
    rfc3339_ms,
)
from tidegate.status import ACTIVE, TERMINAL, ExecutionStatus

__all__ = [
    "ACTIVE",
    "FOREACH_WINDOW",
    "MAX_EVENTS",
    "RUNTIME_ERROR",
    "START",
    "TERMINAL",
    "TRANSITIONS",
    "CancelTask",
    "CancelTimer",
    "Command",
    "EngineEvent",
    "EventType",
    "ExecutionState",
    "ExecutionStatus",
    "HistoryEvent",
    "InvokeTask",
    "StaleEvent",
    "StartTimer",
    "StopRequested",
    "TaskFailed",
    "TaskSubmitted",
    "TaskSucceeded",
    "TimerFired",
    "TokenMinter",
    "Transition",
    "apply",
    "command_from_dict",
    "event_from_dict",
    "parse_rfc3339_ms",
    "rfc3339_ms",
    "start",
    "start_event",
]
