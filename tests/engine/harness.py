"""Orquesta-style harness: drive the engine against scripted task results and a virtual clock.

Scripts map a task step name to an outcome (or a list consumed one per attempt; the last repeats):
``ok({...})``, ``fail("Err", "cause")``, ``LATER`` (submitted, the test reports later with
:meth:`Harness.report`), ``HANG`` (never answers: for timeouts), or a callable ``(InvokeTask) -> outcome``.
After every transition the state is round-tripped through JSON and the history checked for dense ids.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tidegate import engine as E
from tidegate.flow import load_flow
from tidegate.flow.model import Flow, Pattern


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok | fail | later | hang
    output: Any = None
    error: str = ""
    cause: str = ""


def ok(output: Any = None) -> Outcome:
    return Outcome("ok", {} if output is None else output)


def fail(error: str, cause: str = "") -> Outcome:
    return Outcome("fail", error=error, cause=cause)


LATER = Outcome("later")
HANG = Outcome("hang")

Script = Outcome | list[Outcome] | Callable[[E.InvokeTask], Outcome]


def minter(task_key: str) -> str:
    return f"tok:{task_key}"


@dataclass
class Harness:
    flow: Flow
    scripts: dict[str, Script] = field(default_factory=dict)
    now: int = 1_000_000
    flow_name: str = "flow"
    execution_name: str = "exec"
    events: list[E.HistoryEvent] = field(default_factory=list)
    commands: list[E.Command] = field(default_factory=list)
    invocations: list[E.InvokeTask] = field(default_factory=list)
    open: dict[str, E.InvokeTask] = field(default_factory=dict)  # task key -> command
    cancelled_tasks: list[str] = field(default_factory=list)
    timers: list[tuple[int, str]] = field(default_factory=list)  # heap of (fire_at, key)
    state: E.ExecutionState | None = None
    transitions: int = 0
    stale: list[E.EngineEvent] = field(default_factory=list)
    _attempts: dict[str, int] = field(default_factory=dict)
    _queue: list[E.EngineEvent] = field(default_factory=list)

    @classmethod
    def of(cls, text: str, scripts: dict[str, Script] | None = None, **kw: Any) -> Harness:
        return cls(load_flow(text), scripts or {}, **kw)

    # --- driving --------------------------------------------------------------------------------

    def start(self, input: Any = None) -> Harness:
        t = E.start(
            self.flow,
            flow_name=self.flow_name,
            execution_name=self.execution_name,
            input={} if input is None else input,
            now_ms=self.now,
            minter=minter,
        )
        self._absorb(t)
        return self

    def send(self, event: E.EngineEvent) -> E.Transition:
        assert self.state is not None
        t = E.apply(self.flow, self.state, event, now_ms=self.now, minter=minter)
        self._absorb(t)
        return t

    def run(self, input: Any = None, max_steps: int = 100_000) -> Harness:
        """Start and run until the execution ends or only LATER/HANG tasks remain."""
        self.start(input)
        return self.settle(max_steps)

    def settle(self, max_steps: int = 100_000, fire_timers: bool = True) -> Harness:
        """Deliver queued task results (and, unless told otherwise, due timers in time order)."""
        for _ in range(max_steps):
            assert self.state is not None
            if self.state.status in E.TERMINAL:
                return self
            if self._queue:
                event = self._queue.pop(0)
                try:
                    self.send(event)
                except E.StaleEvent:
                    # A late TaskSubmitted after the result (the test reported first) is stale by design.
                    assert isinstance(event, E.TaskSubmitted), event
                    self.stale.append(event)
                continue
            if not self.timers or not fire_timers:
                return self
            fire_at, key = heapq.heappop(self.timers)
            self.now = max(self.now, fire_at)
            if key in self.state.timers:
                self.send(E.TimerFired(key))
        raise AssertionError("execution did not settle")

    def report(self, step_name: str, output: Any) -> E.Transition:
        return self.send(E.TaskSucceeded(self.key_of(step_name), output))

    def report_failed(self, step_name: str, error: str, cause: str = "") -> E.Transition:
        return self.send(E.TaskFailed(self.key_of(step_name), error, cause))

    def key_of(self, step_name: str) -> str:
        keys = [k for k, c in self.open.items() if c.step_name == step_name]
        assert len(keys) == 1, (step_name, keys)
        return keys[0]

    def advance(self, ms: int) -> Harness:
        """Move the clock forward, firing due timers."""
        deadline = self.now + ms
        while self.timers and self.timers[0][0] <= deadline:
            fire_at, key = heapq.heappop(self.timers)
            self.now = max(self.now, fire_at)
            assert self.state is not None
            if key in self.state.timers and self.state.status not in E.TERMINAL:
                self.send(E.TimerFired(key))
        self.now = deadline
        return self

    # --- internals ------------------------------------------------------------------------------

    def _absorb(self, t: E.Transition) -> None:
        self.transitions += 1
        for ev in t.events:
            assert ev.event_id == len(self.events) + 1, "event ids must be dense from 1"
            assert ev.schedule_event_id < ev.event_id
            json.loads(ev.to_api()["EventDetail"])
            self.events.append(ev)
        # Round trip through JSON after every transition: the runtime stores nothing else.
        d = t.state.to_dict()
        again = E.ExecutionState.from_dict(json.loads(json.dumps(d)))
        assert again.to_dict() == json.loads(json.dumps(d))
        # to_dict() leaves out inputs that from_dict() rebuilds: check the rebuilt ones too.
        for fid, frame in t.state.frames.items():
            assert again.frames[fid].input == frame.input
        for rid, run in t.state.runs.items():
            assert again.runs[rid].input == run.input
        self.state = again
        for cmd in t.commands:
            assert E.command_from_dict(json.loads(json.dumps(cmd.to_dict()))) == cmd
            self.commands.append(cmd)
            if isinstance(cmd, E.InvokeTask):
                self._invoke(cmd)
            elif isinstance(cmd, E.StartTimer):
                heapq.heappush(self.timers, (cmd.fire_at_ms, cmd.timer_key))
            elif isinstance(cmd, E.CancelTimer):
                self.timers = [(a, k) for a, k in self.timers if k != cmd.timer_key]
                heapq.heapify(self.timers)
            elif isinstance(cmd, E.CancelTask):
                self.cancelled_tasks.append(cmd.task_key)
                self.open.pop(cmd.task_key, None)
                self._queue = [e for e in self._queue if getattr(e, "task_key", None) != cmd.task_key]
        if t.status in E.TERMINAL:
            self.open.clear()
        for key in list(self.open):
            if key not in self.state.tasks:
                self.open.pop(key)

    def _invoke(self, cmd: E.InvokeTask) -> None:
        self.invocations.append(cmd)
        self.open[cmd.task_key] = cmd
        script = self.scripts.get(cmd.step_name, ok())
        n = self._attempts.get(cmd.step_name, 0)
        self._attempts[cmd.step_name] = n + 1
        if isinstance(script, list):
            outcome = script[min(n, len(script) - 1)]
        elif callable(script) and not isinstance(script, Outcome):
            outcome = script(cmd)
        else:
            outcome = script
        if cmd.pattern is Pattern.WAIT_FOR_CALLBACK or outcome.kind == "later":
            self._queue.append(E.TaskSubmitted(cmd.task_key))
        if outcome.kind == "ok":
            self._queue.append(E.TaskSucceeded(cmd.task_key, outcome.output))
        elif outcome.kind == "fail":
            self._queue.append(E.TaskFailed(cmd.task_key, outcome.error, outcome.cause))

    # --- views ----------------------------------------------------------------------------------

    @property
    def types(self) -> list[str]:
        return [str(e.type) for e in self.events]

    @property
    def trace(self) -> list[tuple[str, str]]:
        """(type, step name) of every step-level event, without ids."""
        return [(str(e.type), e.step_name) for e in self.events]

    def entered(self) -> list[str]:
        return [e.step_name for e in self.events if e.type is E.EventType.STEP_ENTERED]

    def status(self) -> E.ExecutionStatus:
        assert self.state is not None
        return self.state.status

    @property
    def output(self) -> Any:
        assert self.state is not None
        return self.state.output

    @property
    def error(self) -> tuple[str | None, str | None]:
        assert self.state is not None
        return self.state.error, self.state.cause

    def detail(self, type: str, step: str, n: int = 0) -> dict[str, Any]:
        found = [e.detail for e in self.events if e.type == type and e.step_name == step]
        return found[n]

    def timer_starts(self) -> list[E.StartTimer]:
        return [c for c in self.commands if isinstance(c, E.StartTimer)]
