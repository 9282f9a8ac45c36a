"""An execution's history projected onto its flow: what happened to every step (the graph's colours).

History events name steps, not model paths, and names may repeat in different step lists. Each
``StepEntered`` is resolved through its ``ScheduleEventId`` (the event that opened its step list, docs/engine.md):
``ExecutionStarted`` opens the top level, ``BranchEntered``/``IterationEntered`` a parallel branch or a
foreach body, and a choice's or task's own ``StepEntered`` its branches or catch handlers. The step is the
one of that name in the opened list(s), so every run maps to exactly one graph node.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tidegate.engine import EventType
from tidegate.flow import ChoiceStep, Flow, ForeachStep, ParallelStep, Step, TaskStep
from tidegate.store import HistoryRow

__all__ = ["STATUS_ORDER", "Attempt", "Projection", "Run", "project"]

#: Node colour precedence when a step ran several times (loops, iterations): the first present wins.
STATUS_ORDER = ("running", "waiting", "failed", "caught", "cancelled", "succeeded")
_OPEN = frozenset({"running", "waiting"})


@dataclass(slots=True, kw_only=True)
class Attempt:
    """One task attempt (``TaskScheduled`` and its result)."""

    number: int
    scheduled_id: int
    task_key: str
    pattern: str
    input: Any = None
    status: str = "running"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    #: What a function invocation reported (docs/functions.md): None for other targets.
    request_id: str | None = None
    log_tail: str | None = None
    log_bytes: int | None = None
    stack_trace: list[str] | None = None

    def to_json(self) -> dict[str, Any]:
        """As JSON for the step panel."""
        return {
            "attempt": self.number,
            "scheduled_event_id": self.scheduled_id,
            "task_key": self.task_key,
            "pattern": self.pattern,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "request_id": self.request_id,
            "log_tail": self.log_tail,
            "log_bytes": self.log_bytes,
            "stack_trace": self.stack_trace,
        }

    def invocation(self, detail: dict[str, Any]) -> None:
        """Take the request id, log tail and stack trace of a task event's detail (when well-formed)."""
        request_id, tail, size = detail.get("requestId"), detail.get("logTail"), detail.get("logBytes")
        stack = detail.get("stackTrace")
        if isinstance(request_id, str):
            self.request_id = request_id
        if isinstance(tail, str):
            self.log_tail = tail
        if isinstance(size, int) and not isinstance(size, bool):
            self.log_bytes = size
        if isinstance(stack, list) and all(isinstance(line, str) for line in stack):
            self.stack_trace = stack


@dataclass(slots=True, kw_only=True)
class Run:
    """One visit of a step (from its ``StepEntered`` to its ``StepExited``)."""

    entered_id: int
    path: str
    name: str
    status: str = "running"
    input: Any = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    attempts: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As JSON for the step panel."""
        return {
            "entered_event_id": self.entered_id,
            "status": self.status,
            "input": self.input,
            "output": self.output,
            "error": self.error,
            "cause": self.cause,
            "attempts": [a.to_json() for a in self.attempts],
        }


@dataclass(slots=True, kw_only=True)
class Projection:
    """Every run, by node path, in the order they were entered."""

    runs: dict[str, list[Run]] = field(default_factory=dict)
    last_event_id: int = 0

    def node_states(self) -> dict[str, dict[str, Any]]:
        """Per node: its colour (``status``), how many runs of each status, and the last error."""
        out: dict[str, dict[str, Any]] = {}
        for path, runs in self.runs.items():
            counts: dict[str, int] = {}
            for r in runs:
                counts[r.status] = counts.get(r.status, 0) + 1
            status = next(s for s in STATUS_ORDER if s in counts)
            failed = [r for r in runs if r.status in ("failed", "caught")]
            doc: dict[str, Any] = {"status": status, "runs": len(runs), "counts": counts}
            if failed:
                doc["error"], doc["cause"] = failed[-1].error, failed[-1].cause
            out[path] = doc
        return out


def _detail(row: HistoryRow) -> dict[str, Any]:
    try:
        value = json.loads(row.detail) if row.detail else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _find(lists: list[tuple[Step, ...]], name: str) -> Step | None:
    for steps in lists:
        for step in steps:
            if step.name == name:
                return step
    return None


class _Projector:
    def __init__(self, flow: Flow) -> None:
        self.flow = flow
        self.scopes: dict[int, list[tuple[Step, ...]]] = {}
        self.steps: dict[int, Step] = {}  # StepEntered id -> step
        self.runs: dict[int, Run] = {}
        self.attempts: dict[int, Attempt] = {}  # TaskScheduled id -> attempt
        self.result = Projection()

    def entered(self, row: HistoryRow, detail: dict[str, Any]) -> None:
        step = _find(self.scopes.get(row.schedule_event_id, []), row.step_name)
        if step is None:
            return  # a history that does not belong to this definition: show it in the table only
        self.steps[row.event_id] = step
        run = Run(entered_id=row.event_id, path=step.path, name=step.name, input=detail.get("input"))
        self.runs[row.event_id] = run
        self.result.runs.setdefault(step.path, []).append(run)
        if isinstance(step, ChoiceStep):
            lists = [b.steps for b in step.choices]
            self.scopes[row.event_id] = [*lists, step.default.steps] if step.default else lists
        elif isinstance(step, TaskStep):
            self.scopes[row.event_id] = [c.steps for c in step.catch]

    def child_scope(self, row: HistoryRow, detail: dict[str, Any]) -> None:
        owner = self.steps.get(row.schedule_event_id)
        if isinstance(owner, ParallelStep):
            index = detail.get("index")
            if isinstance(index, int) and 0 <= index < len(owner.branches):
                self.scopes[row.event_id] = [owner.branches[index]]
        elif isinstance(owner, ForeachStep):
            self.scopes[row.event_id] = [owner.steps]

    def task(self, row: HistoryRow, detail: dict[str, Any]) -> None:
        etype = row.type
        if etype == EventType.TASK_SCHEDULED:
            run = self.runs.get(row.schedule_event_id)
            if run is None:
                return
            number = int(detail.get("attempt") or len(run.attempts) + 1)
            pattern = str(detail.get("pattern") or "requestResponse")
            attempt = Attempt(
                number=number,
                scheduled_id=row.event_id,
                task_key=f"{run.entered_id}.{number}",
                pattern=pattern,
                input=detail.get("input"),
                status="waiting" if pattern == "waitForCallback" else "running",
            )
            run.attempts.append(attempt)
            self.attempts[row.event_id] = attempt
            return
        found = self.attempts.get(row.schedule_event_id)
        if found is None:
            return
        found.invocation(detail)
        if etype == EventType.TASK_SUCCEEDED:
            found.status, found.output = "succeeded", detail.get("output")
        elif etype in (EventType.TASK_FAILED, EventType.TASK_TIMED_OUT):
            found.status = "timed out" if etype == EventType.TASK_TIMED_OUT else "failed"
            found.error, found.cause = detail.get("error"), detail.get("cause")

    def step_end(self, row: HistoryRow, detail: dict[str, Any]) -> None:
        run = self.runs.get(row.schedule_event_id)
        if run is None:
            return
        if row.type == EventType.STEP_SUCCEEDED:
            run.status, run.output = "succeeded", detail.get("output")
        elif row.type == EventType.STEP_FAILED:
            run.status, run.error, run.cause = "failed", detail.get("error"), detail.get("cause")
        elif row.type == EventType.STEP_EXITED and run.status == "failed" and "output" in detail:
            # The engine writes the caught step's output on StepExited only when a catch handled it.
            run.status, run.output = "caught", detail.get("output")

    def ended(self) -> None:
        for run in self.runs.values():
            if run.status in _OPEN:
                run.status = "cancelled"
            for attempt in run.attempts:
                if attempt.status in _OPEN:
                    attempt.status = "cancelled"

    def finish_open_runs(self) -> None:
        for run in self.runs.values():
            if run.status == "running" and run.attempts and run.attempts[-1].status == "waiting":
                run.status = "waiting"


_SCOPES = frozenset({EventType.BRANCH_ENTERED, EventType.ITERATION_ENTERED})
_TASK = frozenset(
    {
        EventType.TASK_SCHEDULED,
        EventType.TASK_SUBMITTED,
        EventType.TASK_SUCCEEDED,
        EventType.TASK_FAILED,
        EventType.TASK_TIMED_OUT,
    }
)
_STEP_END = frozenset({EventType.STEP_SUCCEEDED, EventType.STEP_FAILED, EventType.STEP_EXITED})
_EXEC_END = frozenset(
    {
        EventType.EXECUTION_SUCCEEDED,
        EventType.EXECUTION_FAILED,
        EventType.EXECUTION_STOPPED,
        EventType.EXECUTION_TIMED_OUT,
    }
)


def project(flow: Flow, rows: Iterable[HistoryRow]) -> Projection:
    """Replay a history (in event order) onto ``flow``.

    Run statuses: ``running``, ``waiting`` (for a callback), ``succeeded``, ``failed``, ``caught`` (failed,
    then handled by a catch), ``cancelled`` (still open when the execution ended). Steps never entered
    have no runs ("not reached").
    """
    p = _Projector(flow)
    for row in rows:
        p.result.last_event_id = row.event_id
        detail = _detail(row)
        if row.type == EventType.EXECUTION_STARTED:
            p.scopes[row.event_id] = [flow.steps]
        elif row.type == EventType.STEP_ENTERED:
            p.entered(row, detail)
        elif row.type in _SCOPES:
            p.child_scope(row, detail)
        elif row.type in _TASK:
            p.task(row, detail)
        elif row.type in _STEP_END:
            p.step_end(row, detail)
        elif row.type in _EXEC_END:
            p.ended()
    p.finish_open_runs()
    return p.result
