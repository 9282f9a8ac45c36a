"""The execution state: a tree of frames (step lists) and step runs, stored flat by id.

A *frame* is one running step list (the flow's steps, a parallel branch, a foreach iteration, a choice
branch, a catch's steps). Its id is the id of the history event that opened it (ExecutionStarted = 1,
BranchEntered, IterationEntered, or the owning step's StepEntered for choice/catch lists), so frame ids
double as the ``ScheduleEventId`` of the steps entered in them.

A *run* is a step that is blocked (a task, a wait, or a compound step with a blocked child); its id is its
StepEntered event id. Steps that finish within one transition never get a run.

Everything round-trips losslessly through :meth:`ExecutionState.to_dict` / :meth:`ExecutionState.from_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

from tidegate.errors import EngineError
from tidegate.flow.mapping import default_input
from tidegate.flow.model import Step
from tidegate.status import ExecutionStatus

STATE_VERSION = 1


@dataclass(slots=True, kw_only=True)
class Frame:
    """One running step list."""

    id: int
    owner: str  # path of the owning step; "" for the flow's own steps
    slot: str  # which list of the owner: "", "steps", "branches.<i>", "choices.<i>", "default", "catch.<i>"
    input: dict[str, Any]
    local: dict[str, Any]
    parent: int = 0  # run id of the owning step (0 for the flow)
    pos: int = -1  # branch or iteration index inside the owner
    index: int = 0  # index of the current step in the list
    active: int = 0  # run id of the blocked current step (0: none)
    steps: tuple[Step, ...] | None = field(default=None, compare=False, repr=False)  # resolved lazily

    def to_dict(self, derived_input: bool = False) -> dict[str, Any]:
        """A JSON-serialisable dict; ``derived_input``: the owner can rebuild the input, leave it out."""
        return {
            "id": self.id,
            "owner": self.owner,
            "slot": self.slot,
            "input": None if derived_input else self.input,
            "local": self.local,
            "parent": self.parent,
            "pos": self.pos,
            "index": self.index,
            "active": self.active,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Frame:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            id=d["id"],
            owner=d["owner"],
            slot=d["slot"],
            input=d["input"],
            local=d["local"],
            parent=d["parent"],
            pos=d["pos"],
            index=d["index"],
            active=d["active"],
        )


@dataclass(slots=True, kw_only=True)
class _RunBase:
    """What every blocked step records: its StepEntered id, its path, its frame and its input."""

    id: int
    path: str
    frame: int
    input: dict[str, Any]
    derived: bool = False  # no inputMappings: the input is the merge of its frame's input and local


@dataclass(slots=True, kw_only=True)
class TaskRun(_RunBase):
    """A task step: one open attempt, a retry back-off, or its catch steps running."""

    KIND = "task"
    attempt: int = 1
    task_key: str = ""  # the open attempt ("" while backing off or running catch steps)
    scheduled_id: int = 0  # TaskScheduled event id of the open attempt
    submitted: bool = False
    counters: list[int] = field(default_factory=list)  # retries used, per retry policy
    timeout_timer: str = ""
    heartbeat_timer: str = ""  # the open attempt's heartbeat deadline (heartbeatSeconds)
    default_timeout: int = 0  # seconds of the runtime's default callback timeout the open attempt got (0: none)
    retry_timer: str = ""
    catch_frame: int = 0
    catch_goto: str | None = None


@dataclass(slots=True, kw_only=True)
class WaitRun(_RunBase):
    """A wait step waiting for its timer."""

    KIND = "wait"
    timer: str = ""


@dataclass(slots=True, kw_only=True)
class ChoiceRun(_RunBase):
    """A choice step whose chosen branch is blocked."""

    KIND = "choice"
    child: int = 0
    goto: str | None = None


@dataclass(slots=True, kw_only=True)
class FanRun(_RunBase):
    """A parallel (``items is None``) or foreach step with children running concurrently."""

    KIND = "fan"
    items: list[Any] | None = None
    item_key: str = ""  # foreach iterationMapping.item / .index: iteration inputs are rebuilt from them
    index_key: str | None = None
    children: list[int] = field(default_factory=list)  # frame id per child; 0 = not running
    results: list[Any] = field(default_factory=list)  # local per finished child, in child order
    next: int = 0  # next child to start
    running: int = 0
    remaining: int = 0  # children not finished yet


def child_input(run: FanRun, pos: int) -> dict[str, Any]:
    """The input of branch or iteration ``pos``: the step input, plus item (and index) for foreach."""
    if run.items is None:
        return run.input
    inp = dict(run.input)
    inp[run.item_key] = run.items[pos]
    if run.index_key:
        inp[run.index_key] = pos
    return inp


def _frame_input(frame: Frame, frames: dict[int, Frame], runs: dict[int, Run]) -> dict[str, Any]:
    if frame.input is None:
        run = runs[frame.parent]
        assert isinstance(run, FanRun)
        _run_input(run, frames, runs)
        frame.input = child_input(run, frame.pos)
    return frame.input


def _run_input(run: Run, frames: dict[int, Frame], runs: dict[int, Run]) -> dict[str, Any]:
    if run.input is None:
        frame = frames[run.frame]
        run.input = default_input(_frame_input(frame, frames, runs), frame.local)
    return run.input


Run: TypeAlias = TaskRun | WaitRun | ChoiceRun | FanRun
_RUN_CLASSES: dict[str, type[TaskRun] | type[WaitRun] | type[ChoiceRun] | type[FanRun]] = {
    c.KIND: c for c in (TaskRun, WaitRun, ChoiceRun, FanRun)
}
_RUN_FIELDS: dict[str, tuple[str, ...]] = {k: tuple(c.__dataclass_fields__) for k, c in _RUN_CLASSES.items()}


def run_to_dict(run: Run) -> dict[str, Any]:
    """Serialise a run; the ``kind`` tag selects the class on the way back.

    A derived input is left out: 100 running foreach iterations would otherwise store 100 copies of
    (nearly) the same input.
    """
    d: dict[str, Any] = {name: getattr(run, name) for name in _RUN_FIELDS[run.KIND]}
    if run.derived:
        d["input"] = None
    d["kind"] = run.KIND
    return d


def run_from_dict(d: dict[str, Any]) -> Run:
    """Rebuild a run from :func:`run_to_dict` output."""
    kind = d["kind"]
    cls = _RUN_CLASSES.get(kind)
    if cls is None:
        raise EngineError(f"unknown run kind {kind!r} in execution state")
    # A field missing from a state written by an earlier version takes its default.
    return cls(**{name: d[name] for name in _RUN_FIELDS[kind] if name in d})


@dataclass(slots=True, kw_only=True)
class ExecutionState:
    """Everything the engine needs to continue an execution; JSON-serialisable via :meth:`to_dict`.

    ``apply`` updates the state it is given in place and returns it; take ``to_dict()`` first if the old
    state is still needed.
    """

    flow_name: str
    execution_name: str
    started_ms: int
    input: Any  # the execution input as given to StartExecution
    status: ExecutionStatus = ExecutionStatus.RUNNING
    next_event_id: int = 1
    frames: dict[int, Frame] = field(default_factory=dict)
    runs: dict[int, Run] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)  # open task attempt key -> run id
    timers: dict[str, int] = field(default_factory=dict)  # active timer key -> run id (0: the flow)
    output: dict[str, Any] | None = None
    error: str | None = None
    cause: str | None = None
    stopped_ms: int | None = None

    @property
    def event_count(self) -> int:
        """Number of history events recorded so far."""
        return self.next_event_id - 1

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :meth:`from_dict` turns back into an equal state."""
        return {
            "v": STATE_VERSION,
            "flow_name": self.flow_name,
            "execution_name": self.execution_name,
            "started_ms": self.started_ms,
            "input": self.input,
            "status": str(self.status),
            "next_event_id": self.next_event_id,
            # A branch or iteration input is its parallel/foreach input (+ item and index): storing it once
            # per running child would make the state grow with the window size times the input size.
            "frames": [f.to_dict(derived_input=self._derived(f)) for f in self.frames.values()],
            "runs": [run_to_dict(r) for r in self.runs.values()],
            "tasks": self.tasks,
            "timers": self.timers,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "stopped_ms": self.stopped_ms,
        }

    def _derived(self, frame: Frame) -> bool:
        return frame.pos >= 0 and isinstance(self.runs.get(frame.parent), FanRun)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExecutionState:
        """Rebuild a state from :meth:`to_dict` output (also after a JSON round trip).

        Raises:
            EngineError: the dict was written by an incompatible version.
        """
        if d.get("v") != STATE_VERSION:
            raise EngineError(f"unsupported execution state version {d.get('v')!r}")
        frames = {f.id: f for f in (Frame.from_dict(f) for f in d["frames"])}
        runs = {r.id: r for r in (run_from_dict(r) for r in d["runs"])}
        for f in frames.values():
            _frame_input(f, frames, runs)
        for r in runs.values():
            _run_input(r, frames, runs)
        return cls(
            flow_name=d["flow_name"],
            execution_name=d["execution_name"],
            started_ms=d["started_ms"],
            input=d["input"],
            status=ExecutionStatus(d["status"]),
            next_event_id=d["next_event_id"],
            frames=frames,
            runs=runs,
            tasks=dict(d["tasks"]),
            timers=dict(d["timers"]),
            output=d["output"],
            error=d["error"],
            cause=d["cause"],
            stopped_ms=d["stopped_ms"],
        )
