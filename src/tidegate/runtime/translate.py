"""Turn what the engine produced for one execution into one store write.

The engine speaks in commands (invoke a task, start/cancel a timer, cancel a task); the store speaks in
rows (jobs, timers, task records). This module is the only place that maps one onto the other, so that a
transition and everything it causes commit in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidegate.engine import (
    TERMINAL,
    CancelTask,
    CancelTimer,
    Command,
    EventType,
    ExecutionState,
    ExecutionStatus,
    HistoryEvent,
    InvokeTask,
    StartTimer,
    TimerFired,
)
from tidegate.flow.model import ResourceKind
from tidegate.jsontext import compact
from tidegate.store import (
    ExecutionRecord,
    HistoryWrite,
    JobWrite,
    TaskCompletion,
    TaskOpen,
    TimerWrite,
    TransitionWrite,
    TxEffect,
)

TASK_JOB = "task"
"""The job kind of a task invocation (see :mod:`tidegate.runtime.executor`)."""

Transactional = Mapping[ResourceKind, Callable[[ExecutionRecord, InvokeTask], TxEffect]]
"""Task targets that live in the store itself: their effect commits with the transition, no job."""


@dataclass(slots=True)
class Pending:
    """The accumulated result of applying a batch of inbox items to one execution."""

    execution: ExecutionRecord
    state: ExecutionState | None
    events: list[HistoryEvent] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    consumed: list[int] = field(default_factory=list)


def job_payload(execution: ExecutionRecord, cmd: InvokeTask) -> dict[str, Any]:
    """The payload of a task job: the command plus what the executor needs to address the execution."""
    return {
        "execution_id": execution.id,
        "flow_name": execution.flow_name,
        "execution_name": execution.name,
        "command": cmd.to_dict(),
    }


def _stored(e: HistoryEvent) -> HistoryWrite:
    return HistoryWrite(
        event_id=e.event_id,
        schedule_event_id=e.schedule_event_id,
        type=str(e.type),
        step_name=e.step_name,
        time_ms=e.time_ms,
        detail=e.detail,
    )


@dataclass(slots=True)
class _Rows:
    timers_add: dict[str, TimerWrite] = field(default_factory=dict)
    timers_cancel: list[str] = field(default_factory=list)
    tasks_open: list[TaskOpen] = field(default_factory=list)
    tasks_cancel: list[str] = field(default_factory=list)
    jobs: list[JobWrite] = field(default_factory=list)
    effects: list[TxEffect] = field(default_factory=list)


def _split_commands(
    execution: ExecutionRecord, commands: Sequence[Command], now_ms: int, transactional: Transactional
) -> _Rows:
    rows = _Rows()
    timers_add, timers_cancel = rows.timers_add, rows.timers_cancel
    for cmd in commands:
        if isinstance(cmd, InvokeTask):
            rows.tasks_open.append(
                TaskOpen(
                    key=cmd.task_key,
                    step_name=cmd.step_name,
                    resource=cmd.resource.text,
                    pattern=str(cmd.pattern),
                    attempt=cmd.attempt,
                    heartbeat_ms=cmd.heartbeat_seconds * 1000 if cmd.heartbeat_seconds else None,
                )
            )
            in_store = transactional.get(cmd.resource.kind)
            if in_store is not None:
                rows.effects.append(in_store(execution, cmd))
                continue
            rows.jobs.append(
                JobWrite(
                    kind=TASK_JOB,
                    payload=job_payload(execution, cmd),
                    task_key=cmd.task_key,
                    available_ms=now_ms,
                )
            )
        elif isinstance(cmd, StartTimer):
            timers_add[cmd.timer_key] = TimerWrite(
                key=cmd.timer_key,
                fire_at_ms=cmd.fire_at_ms,
                event=TimerFired(timer_key=cmd.timer_key).to_dict(),
                task_key=cmd.task_key,
                heartbeat_ms=cmd.heartbeat_ms,
            )
        elif isinstance(cmd, CancelTimer):
            # A timer started and cancelled within one batch never needs to reach the database.
            if timers_add.pop(cmd.timer_key, None) is None:
                timers_cancel.append(cmd.timer_key)
        elif isinstance(cmd, CancelTask):
            rows.tasks_cancel.append(cmd.task_key)
    return rows


def to_write(p: Pending, now_ms: int, transactional: Transactional | None = None) -> TransitionWrite:
    """Build the store write for one execution's accumulated transition."""
    ex = p.execution
    state = p.state
    rows = _split_commands(ex, p.commands, now_ms, transactional or {})
    events = [_stored(e) for e in p.events]
    if state is None:  # nothing applied (only stale events): just consume them
        return TransitionWrite(
            execution_id=ex.id,
            expected_version=ex.version,
            state=ex.state,
            status=ex.status,
            consumed_inbox=p.consumed,
        )
    terminal = state.status in TERMINAL
    output = None
    if terminal:
        output = compact(state.output) if state.output is not None else ""
    return TransitionWrite(
        execution_id=ex.id,
        expected_version=ex.version,
        state=state.to_dict(),
        status=state.status,
        output=output,
        error=state.error if terminal else None,
        cause=state.cause if terminal else None,
        stopped_ms=now_ms if terminal else None,
        events=events,
        consumed_inbox=p.consumed,
        timers_add=list(rows.timers_add.values()),
        timers_cancel=rows.timers_cancel,
        tasks_open=rows.tasks_open,
        tasks_cancel=rows.tasks_cancel,
        jobs=rows.jobs,
        effects=rows.effects,
    )


_END_EVENTS = {ExecutionStatus.FAILED: EventType.EXECUTION_FAILED, ExecutionStatus.STOPPED: EventType.EXECUTION_STOPPED}


def ended_write(
    ex: ExecutionRecord,
    status: ExecutionStatus,
    error: str,
    cause: str,
    now_ms: int,
    completions: Sequence[TaskCompletion] = (),
) -> TransitionWrite:
    """The terminal write of an execution ended without the engine (stopped, or its events cannot be applied).

    It writes what the engine's own ending writes: the status, error and cause, the ``Execution{Failed,
    Stopped}`` history event and the parent's completion; the store cancels open tasks, timers and queued
    events of every ended execution. The engine state is not parsed (it may be what fails): its status
    fields are set in the stored dict and nothing else of it is read again.
    """
    event_id = ex.event_count + 1
    state = ex.state
    if state is not None:
        state = state | {
            "status": str(status),
            "next_event_id": event_id + 1,
            "frames": [],
            "runs": [],
            "tasks": {},
            "timers": {},
            "error": error,
            "cause": cause,
            "stopped_ms": now_ms,
        }
    event = HistoryWrite(
        event_id=event_id,
        schedule_event_id=min(ex.event_count, 1),
        type=str(_END_EVENTS[status]),
        step_name="",
        time_ms=now_ms,
        detail={"error": error, "cause": cause},
    )
    return TransitionWrite(
        execution_id=ex.id,
        expected_version=ex.version,
        state=state,
        status=status,
        output="",
        error=error,
        cause=cause,
        stopped_ms=now_ms,
        events=[event],
        task_completions=list(completions),
    )
