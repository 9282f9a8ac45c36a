"""The public entry points: :func:`start` and :func:`apply`, each one transition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from tidegate.engine import _steps, _task
from tidegate.engine._handlers import HANDLERS
from tidegate.engine._machine import FLOW_TIMEOUT, FLOW_TIMER, RUNTIME_ERROR, Fatal, Machine
from tidegate.engine._messages import (
    Command,
    EngineEvent,
    StopRequested,
    TaskFailed,
    TaskSubmitted,
    TaskSucceeded,
    TimerFired,
)
from tidegate.engine._state import ExecutionState, Frame, TaskRun, WaitRun
from tidegate.engine._types import EventType, HistoryEvent, StaleEvent
from tidegate.errors import EngineError
from tidegate.flow.mapping import Scope, apply_mappings
from tidegate.flow.model import JSON, Flow
from tidegate.status import TERMINAL, ExecutionStatus


class TokenMinter(Protocol):
    """Mints the task token of one task attempt; the runtime signs, the engine only asks."""

    def __call__(self, task_key: str, /) -> str: ...


@dataclass(slots=True)
class Transition:
    """What one :func:`start` or :func:`apply` produced.

    ``state`` is the new state (the same object ``apply`` was given, updated in place); ``events`` are the
    history events to append, ``commands`` the work to do after committing.
    """

    state: ExecutionState
    events: list[HistoryEvent] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    @property
    def status(self) -> ExecutionStatus:
        """The execution status after this transition."""
        return self.state.status

    @property
    def output(self) -> dict[str, Any] | None:
        """The flow output; set only when the execution succeeded."""
        return self.state.output

    @property
    def error(self) -> str | None:
        """The error name when the execution failed, timed out or was stopped."""
        return self.state.error

    @property
    def cause(self) -> str | None:
        """The cause when the execution failed, timed out or was stopped."""
        return self.state.cause


def start(
    flow: Flow,
    *,
    flow_name: str,
    execution_name: str,
    input: JSON,
    now_ms: int,
    minter: TokenMinter,
    callback_timeout_s: int = 0,
) -> Transition:
    """Start an execution: ExecutionStarted, then run until every path is blocked or the flow ends.

    Args:
        flow: the loaded flow.
        flow_name: the flow's name (``$context.flow.name``).
        execution_name: the execution's name (``$context.execution.name``).
        input: the execution input; must be a JSON object (anything else fails the execution).
        now_ms: the current time, epoch milliseconds.
        minter: mints task tokens.
        callback_timeout_s: the timeout of a waitForCallback attempt whose step sets no ``timeoutSeconds``
            (0: such an attempt waits for ever).

    Returns:
        The first transition.
    """
    state = ExecutionState(flow_name=flow_name, execution_name=execution_name, started_ms=now_ms, input=input)
    m = Machine(flow, state, now_ms, minter, HANDLERS, callback_timeout_s)
    m.emit(EventType.EXECUTION_STARTED, "", 0, {"input": input})
    try:
        if not isinstance(input, dict):
            raise Fatal(RUNTIME_ERROR, f"the execution input must be a JSON object, got {type(input).__name__}")
        if flow.input_mappings is None:
            flow_input = input
        else:
            ctx = m.ctx.build("", 1, None)
            flow_input = apply_mappings(flow.input_mappings, Scope(input, {}, ctx))
        root = m.new_frame(Frame(id=1, owner="", slot="", input=flow_input, local={}), flow.steps)
        if flow.timeout_seconds:
            m.start_timer(FLOW_TIMER, now_ms + flow.timeout_seconds * 1000, 0)
        res = m.drive(root)
        if res is not None:
            m.finish_frame(root, res)
    except Fatal as exc:
        m.terminate(ExecutionStatus.FAILED, EventType.EXECUTION_FAILED, exc.error, exc.cause)
    return Transition(state, m.events, m.commands)


def apply(
    flow: Flow,
    state: ExecutionState,
    event: EngineEvent,
    *,
    now_ms: int,
    minter: TokenMinter,
    callback_timeout_s: int = 0,
) -> Transition:
    """Apply one event to an execution and run on until every path is blocked or the flow ends.

    ``callback_timeout_s`` is as for :func:`start`: it applies to the attempts this transition opens.

    ``state`` is updated in place (and returned in the transition); keep ``state.to_dict()`` first if
    the old state is needed. Nothing is changed when :class:`StaleEvent` is raised.

    Raises:
        StaleEvent: the event no longer applies (task not open, timer not active, execution ended).
        EngineError: the event is of an unknown type or the state does not fit the flow.
    """
    if state.status in TERMINAL:
        raise StaleEvent(f"execution {state.execution_name} has already ended ({state.status})")
    m = Machine(flow, state, now_ms, minter, HANDLERS, callback_timeout_s)
    try:
        _dispatch(m, event)
    except Fatal as exc:
        m.terminate(ExecutionStatus.FAILED, EventType.EXECUTION_FAILED, exc.error, exc.cause)
    return Transition(state, m.events, m.commands)


def _dispatch(m: Machine, event: EngineEvent) -> None:
    if isinstance(event, TaskSucceeded):
        _task.on_succeeded(m, event.task_key, event.output, event.detail)
    elif isinstance(event, TaskFailed):
        _task.on_failed(m, event.task_key, event.error, event.cause, event.detail)
    elif isinstance(event, TaskSubmitted):
        _task.on_submitted(m, event.task_key, event.detail)
    elif isinstance(event, TimerFired):
        _timer(m, event.timer_key)
    elif isinstance(event, StopRequested):
        m.terminate(ExecutionStatus.STOPPED, EventType.EXECUTION_STOPPED, event.error, event.cause)
    else:
        raise EngineError(f"unknown engine event {event!r}")


def _timer(m: Machine, key: str) -> None:
    run_id = m.s.timers.get(key)
    if run_id is None:
        raise StaleEvent(f"timer {key} is not active")
    m.s.timers.pop(key)
    if run_id == 0:
        cause = f"the execution did not finish within {m.flow.timeout_seconds} seconds"
        m.terminate(ExecutionStatus.TIMED_OUT, EventType.EXECUTION_TIMED_OUT, FLOW_TIMEOUT, cause)
        return
    run = m.s.runs[run_id]
    if isinstance(run, WaitRun):
        _steps.wait_fired(m, run)
    elif isinstance(run, TaskRun):
        _task.on_timer(m, run, key)
    else:
        raise EngineError(f"timer {key} belongs to a step that has no timers")
