"""The interpreter core: one :class:`Machine` per transition drives frames until every path is blocked.

Control flow: :meth:`Machine.drive` runs a frame's steps while they finish synchronously (each
``_enter_*`` handler returns a :class:`Result`, or ``None`` when the step blocks on a task or timer). When
an event later finishes a blocked step, :meth:`Machine.finish_run` records it in its list, drives the list
on, and bubbles a finished list up to its owner (``child_done``). Recursion depth is bounded by the
flow's nesting depth, never by the number of steps run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tidegate.engine import _data
from tidegate.engine._messages import CancelTask, CancelTimer, Command, InvokeTask, StartTimer
from tidegate.engine._state import ChoiceRun, ExecutionState, FanRun, Frame, Run, TaskRun, WaitRun
from tidegate.engine._types import TRANSITIONS, EventType, HistoryEvent
from tidegate.errors import EngineError
from tidegate.flow.model import Flow, Step, StepType, iter_steps
from tidegate.status import TERMINAL, ExecutionStatus

MAX_EVENTS = 5000
"""Events per execution (docs/engine.md, Limits). The terminal event may take the 5,000th id, never a later one."""

FOREACH_WINDOW = 100
"""At most 100 iterations (and 100 branches) run at a time; the rest wait their turn."""

FAILED_DEFAULT = "FnF.Failed"
RUNTIME_ERROR = "FnF.RuntimeError"
EVENT_LIMIT = "FnF.EventLimitExceeded"
DATA_LIMIT = "FnF.DataSizeExceeded"
FLOW_TIMEOUT = "FnF.Timeout"
FLOW_TIMER = "flow.timeout"

_TERMINAL_EVENTS = frozenset(
    {
        EventType.EXECUTION_SUCCEEDED,
        EventType.EXECUTION_FAILED,
        EventType.EXECUTION_STOPPED,
        EventType.EXECUTION_TIMED_OUT,
    }
)


class Fatal(Exception):
    """Internal: ends the whole execution as Failed (limits); never escapes :mod:`tidegate.engine`."""

    def __init__(self, error: str, cause: str) -> None:
        super().__init__(f"{error}: {cause}")
        self.error = error
        self.cause = cause


@dataclass(slots=True)
class Result:
    """A finished step (``output``) or step list (``output`` = its local); ``ok=False`` is a failure."""

    ok: bool
    output: Any = field(default_factory=dict)
    error: str = ""
    cause: str = ""
    goto: str | None = None
    stop: bool = False  # a succeed step: end the enclosing list


TokenFn = Callable[[str], str]


def index_steps(flow: Flow) -> dict[str, Step]:
    """``flow.steps_by_path``, filled in place if the loader left it empty (hand-built flows)."""
    index = flow.steps_by_path
    if not index:
        index.update((step.path, step) for step in iter_steps(flow.steps))
    return index


class Machine:
    """The mutable context of one transition: the state, the clock, and what the transition emits."""

    def __init__(
        self,
        flow: Flow,
        state: ExecutionState,
        now_ms: int,
        minter: TokenFn,
        handlers: Handlers,
        callback_timeout_s: int = 0,
    ) -> None:
        self.flow = flow
        #: The timeout of a waitForCallback attempt whose step has no timeoutSeconds (0: it waits for ever).
        self.callback_timeout_s = callback_timeout_s
        self.handlers = handlers
        self.s = state
        self.now = now_ms
        self.minter = minter
        self.index = index_steps(flow)
        self.ctx = _data.ContextBuilder(state.flow_name, state.execution_name, state.started_ms)
        self.events: list[HistoryEvent] = []
        self.commands: list[Command] = []
        self._new_tasks: set[str] = set()
        self._new_timers: set[str] = set()

    # --- history and commands -------------------------------------------------------------------

    def emit(self, type: EventType, step_name: str, schedule: int, detail: dict[str, Any]) -> int:
        """Append a history event and return its id.

        Raises:
            Fatal: the event would exceed the per-execution event limit.
        """
        s = self.s
        eid = s.next_event_id
        if eid >= MAX_EVENTS and type not in _TERMINAL_EVENTS:
            raise Fatal(EVENT_LIMIT, f"the execution reached the limit of {MAX_EVENTS} history events")
        s.next_event_id = eid + 1
        self.events.append(HistoryEvent(eid, schedule, type, step_name, self.now, detail))
        return eid

    def invoke(self, cmd: InvokeTask, run_id: int) -> None:
        """Open a task attempt."""
        self.s.tasks[cmd.task_key] = run_id
        self._new_tasks.add(cmd.task_key)
        self.commands.append(cmd)

    def start_timer(
        self, key: str, fire_at_ms: int, run_id: int, task_key: str | None = None, heartbeat_ms: int | None = None
    ) -> None:
        """Start a timer owned by ``run_id`` (0: the flow); ``task_key``: the attempt it ends when it fires,
        ``heartbeat_ms``: a heartbeat timer's interval (see :class:`StartTimer`)."""
        self.s.timers[key] = run_id
        self._new_timers.add(key)
        cmd = StartTimer(timer_key=key, fire_at_ms=fire_at_ms, task_key=task_key, heartbeat_ms=heartbeat_ms)
        self.commands.append(cmd)

    def cancel_task(self, key: str) -> None:
        """Abandon an open attempt; one opened in this same transition is simply never invoked."""
        if self.s.tasks.pop(key, None) is None:
            return
        if key in self._new_tasks:
            self.commands = [c for c in self.commands if not (isinstance(c, InvokeTask) and c.task_key == key)]
        else:
            self.commands.append(CancelTask(task_key=key))

    def cancel_timer(self, key: str) -> None:
        """Drop an active timer; one started in this same transition is simply never started."""
        if not key or self.s.timers.pop(key, None) is None:
            return
        if key in self._new_timers:
            self.commands = [c for c in self.commands if not (isinstance(c, StartTimer) and c.timer_key == key)]
        else:
            self.commands.append(CancelTimer(timer_key=key))

    # --- step lists -----------------------------------------------------------------------------

    def steps_of(self, frame: Frame) -> tuple[Step, ...]:
        """The step list a frame runs (resolved once per transition)."""
        steps = frame.steps
        if steps is None:
            steps = frame.steps = self._resolve_list(frame.owner, frame.slot)
        return steps

    def _resolve_list(self, owner: str, slot: str) -> tuple[Step, ...]:
        if not owner:
            return self.flow.steps
        step: Any = self.index[owner]
        kind, _, pos = slot.partition(".")
        if kind == "steps":
            return step.steps  # type: ignore[no-any-return]
        if kind == "branches":
            return step.branches[int(pos)]  # type: ignore[no-any-return]
        if kind == "choices":
            return step.choices[int(pos)].steps  # type: ignore[no-any-return]
        if kind == "default":
            return step.default.steps  # type: ignore[no-any-return]
        if kind == "catch":
            return step.catch[int(pos)].steps  # type: ignore[no-any-return]
        raise EngineError(f"unknown step list {owner}/{slot} in execution state")

    def new_frame(self, frame: Frame, steps: tuple[Step, ...] | None = None) -> Frame:
        """Register a frame in the state."""
        frame.steps = steps
        self.s.frames[frame.id] = frame
        return frame

    def drive(self, frame: Frame) -> Result | None:
        """Run ``frame``'s steps until one blocks (``None``) or the list ends (its result)."""
        steps = self.steps_of(frame)
        while True:
            if frame.index >= len(steps):
                return Result(True, frame.local)
            step = steps[frame.index]
            eid = self.emit(EventType.STEP_ENTERED, step.name, frame.id, {})
            res = self.handlers.enter[step.type](self, frame, step, eid)
            if res is None:
                frame.active = eid
                return None
            self.s.runs.pop(eid, None)
            done = self.after_step(frame, step, res)
            if done is not None:
                return done

    def after_step(self, frame: Frame, step: Step, res: Result) -> Result | None:
        """Record a finished step in its list; return the list's result if the list ended."""
        if not res.ok:
            return res
        if res.output:
            frame.local = _data.merge_local(frame.local, res.output)
        if res.goto is not None:
            # goto wins over `end`: a step with `end: true` and a catch goto must still jump.
            frame.index = self._find(frame, res.goto)
            return None
        if res.stop or step.end:
            return Result(True, frame.local)
        frame.index += 1
        return None

    def _find(self, frame: Frame, name: str) -> int:
        for i, step in enumerate(self.steps_of(frame)):
            if step.name == name:
                return i
        raise EngineError(f"goto target {name!r} is not a sibling step")

    def finish_run(self, run: Run, res: Result) -> None:
        """A blocked step finished: continue its list and bubble finished lists up."""
        self.s.runs.pop(run.id, None)
        frame = self.s.frames[run.frame]
        frame.active = 0
        done = self.after_step(frame, self.index[run.path], res)
        if done is None:
            done = self.drive(frame)
        if done is not None:
            self.finish_frame(frame, done)

    def finish_frame(self, frame: Frame, res: Result) -> None:
        """A list ended: hand its result to the owning step (or end the execution)."""
        self.s.frames.pop(frame.id, None)
        if frame.parent == 0:
            self.end_execution(frame, res)
            return
        parent = self.s.runs[frame.parent]
        step_res = self.handlers.child_done[type(parent)](self, parent, frame, res)
        if step_res is not None:
            self.finish_run(parent, step_res)

    # --- step results ---------------------------------------------------------------------------

    def step_input(self, frame: Frame, step: Step, eid: int, token: str | None = None) -> dict[str, Any]:
        """Compute a step's input and record it in its StepEntered event (the last event)."""
        inp = _data.step_input(step, frame.input, frame.local, self.ctx, eid, token)
        self.events[-1].detail = {"input": inp}
        return inp

    def succeed_step(
        self,
        step: Step,
        eid: int,
        inp: dict[str, Any],
        local: Any,
        default: dict[str, Any] | None,
        goto: str | None = None,
        stop: bool = False,
    ) -> Result:
        """Finish a step successfully: outputMappings, size limit, StepSucceeded + StepExited."""
        output = _data.step_output(step.output_mappings, step.name, inp, local, default, self.ctx, eid)
        self.check_size(step.name, inp, output, local)
        self.emit(EventType.STEP_SUCCEEDED, step.name, eid, {"output": output})
        self.emit(EventType.STEP_EXITED, step.name, eid, {})
        return Result(True, output, goto=goto, stop=stop)

    def fail_step(self, step: Step, eid: int, error: str, cause: str) -> Result:
        """Finish a step with an error: StepFailed + StepExited; the error propagates to the parent."""
        self.emit(EventType.STEP_FAILED, step.name, eid, {"error": error, "cause": cause})
        self.emit(EventType.STEP_EXITED, step.name, eid, {})
        return Result(False, error=error, cause=cause)

    def check_size(self, name: str, *docs: Any) -> None:
        """A step's input + output + local must fit in 32 KiB, else the execution fails."""
        size = _data.data_size(*docs)
        if size > _data.MAX_STEP_DATA_BYTES:
            raise Fatal(
                DATA_LIMIT,
                f"step {name}: input + output + local is {size} bytes, more than {_data.MAX_STEP_DATA_BYTES}",
            )

    # --- cancellation and the end ---------------------------------------------------------------

    def cancel_frame(self, frame_id: int) -> None:
        """Abandon a list and everything open below it (no further events for it)."""
        frame = self.s.frames.pop(frame_id, None)
        if frame is not None and frame.active:
            run = self.s.runs.get(frame.active)
            if run is not None:
                self.cancel_run(run)

    def cancel_run(self, run: Run) -> None:
        """Abandon a blocked step and everything open below it."""
        self.s.runs.pop(run.id, None)
        if isinstance(run, TaskRun):
            if run.task_key:
                self.cancel_task(run.task_key)
            self.cancel_timer(run.timeout_timer)
            self.cancel_timer(run.heartbeat_timer)
            self.cancel_timer(run.retry_timer)
            if run.catch_frame:
                self.cancel_frame(run.catch_frame)
        elif isinstance(run, WaitRun):
            self.cancel_timer(run.timer)
        elif isinstance(run, ChoiceRun):
            self.cancel_frame(run.child)
        else:
            for fid in run.children:
                if fid:
                    self.cancel_frame(fid)

    def end_execution(self, root: Frame, res: Result) -> None:
        """The flow's step list ended: the execution succeeds (flow outputMappings) or fails."""
        if not res.ok:
            self.terminate(ExecutionStatus.FAILED, EventType.EXECUTION_FAILED, res.error, res.cause)
            return
        # Flow outputMappings read the flow input and the flow local (docs/engine.md).
        output = _data.step_output(self.flow.output_mappings, "", root.input, res.output, res.output, self.ctx, 0)
        self.s.output = output
        self.terminate(ExecutionStatus.SUCCEEDED, EventType.EXECUTION_SUCCEEDED, None, None, output)

    def terminate(
        self,
        status: ExecutionStatus,
        event: EventType,
        error: str | None,
        cause: str | None,
        output: dict[str, Any] | None = None,
    ) -> None:
        """End the execution: the terminal event, and cancel whatever is still open."""
        s = self.s
        if status not in TRANSITIONS[s.status]:
            raise EngineError(f"illegal status change {s.status} -> {status}")
        detail: dict[str, Any] = {"output": output} if output is not None else {"error": error, "cause": cause}
        self.emit(event, "", 1, detail)
        for key in list(s.tasks):
            self.cancel_task(key)
        for key in list(s.timers):
            self.cancel_timer(key)
        s.frames.clear()
        s.runs.clear()
        s.status = status
        s.error, s.cause = error, cause
        s.stopped_ms = self.now
        assert status in TERMINAL


#: Enters a step of one kind: its :class:`Result`, or None when the step blocks on a task or a timer.
EnterHandler = Callable[["Machine", Frame, Any, int], "Result | None"]
#: What a run of one kind does when one of its child step lists ends: the step's result, or None (it waits on).
ChildDoneHandler = Callable[["Machine", Any, Frame, "Result"], "Result | None"]


@dataclass(frozen=True, slots=True)
class Handlers:
    """The dispatch tables of the interpreter (built in :mod:`._handlers`), checked complete when built.

    ``enter`` has a handler for every :class:`StepType`; ``child_done`` one for every run kind that owns
    child step lists (a choice's branch, a parallel's branches or a foreach's iterations, a task's catch).
    """

    enter: Mapping[StepType, EnterHandler]
    child_done: Mapping[type[Run], ChildDoneHandler]

    def __post_init__(self) -> None:
        missing = [k.value for k in StepType if k not in self.enter]
        if missing:
            raise EngineError(f"no handler enters steps of kind {', '.join(missing)}")
        missing = [t.__name__ for t in _RUNS_WITH_CHILDREN if t not in self.child_done]
        if missing:
            raise EngineError(f"no handler ends the child lists of {', '.join(missing)}")


#: The run kinds that own child step lists (a :class:`WaitRun` owns none).
_RUNS_WITH_CHILDREN: tuple[type[Run], ...] = (ChoiceRun, FanRun, TaskRun)


__all__ = [
    "ChoiceRun",
    "FanRun",
    "Fatal",
    "Handlers",
    "Machine",
    "Result",
    "TaskRun",
    "WaitRun",
]
