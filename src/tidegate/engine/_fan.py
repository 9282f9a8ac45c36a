"""Parallel and foreach (docs/flow-language.md, Steps): children run concurrently, at most 100 at a time.

Both are a :class:`FanRun`: parallel children are the branches (all started at once, ≤ 100 by the
loader), foreach children the collection's elements, started in order as a sliding window: whenever one
of the 100 running iterations ends the next queued one starts. A failing child fails the step at once and
abandons the others (their open tasks and timers are cancelled; queued iterations never start).
"""

from __future__ import annotations

from typing import Any

from tidegate.engine._data import resolve_self
from tidegate.engine._machine import (
    FOREACH_WINDOW,
    RUNTIME_ERROR,
    Machine,
    Result,
)
from tidegate.engine._state import FanRun, Frame, child_input
from tidegate.engine._types import EventType
from tidegate.flow.model import MISSING, ForeachStep, ParallelStep


def enter_parallel(m: Machine, frame: Frame, step: ParallelStep, eid: int) -> Result | None:
    """Start every branch; each branch list starts from the parallel input and an empty local."""
    inp = m.step_input(frame, step, eid)
    n = len(step.branches)
    run = FanRun(
        id=eid,
        path=step.path,
        frame=frame.id,
        input=inp,
        derived=step.input_mappings is None,
        children=[0] * n,
        results=[None] * n,
        remaining=n,
    )
    m.s.runs[eid] = run
    return fan_start(m, run, step)


def enter_foreach(m: Machine, frame: Frame, step: ForeachStep, eid: int) -> Result | None:
    """Run ``steps`` once per element of the collection (a list in the step input, else FnF.RuntimeError)."""
    inp = m.step_input(frame, step, eid)
    items = resolve_self(step.collection, inp)
    if not isinstance(items, list):
        what = "nothing" if items is MISSING else type(items).__name__
        cause = f"foreach collection {step.collection.text} must be an array, got {what}"
        return m.fail_step(step, eid, RUNTIME_ERROR, cause)
    n = len(items)
    run = FanRun(
        id=eid,
        path=step.path,
        frame=frame.id,
        input=inp,
        derived=step.input_mappings is None,
        items=items,
        item_key=step.item,
        index_key=step.index,
        children=[0] * n,
        results=[None] * n,
        remaining=n,
    )
    m.s.runs[eid] = run
    return fan_start(m, run, step)


def fan_start(m: Machine, run: FanRun, step: Any) -> Result | None:
    """Start queued children while fewer than 100 run; the step's result once it is decided."""
    n = len(run.children)
    while run.next < n and run.running < FOREACH_WINDOW:
        pos = run.next
        run.next += 1
        child = _open_child(m, run, step, pos)
        res = m.drive(child)
        if res is None:
            run.children[pos] = child.id
            run.running += 1
            continue
        m.s.frames.pop(child.id, None)
        decided = _child_result(m, run, step, child, res)
        if decided is not None:
            return decided
    if run.remaining == 0:
        # $local is the array of child locals; parallel and foreach output nothing by default.
        return m.succeed_step(step, run.id, run.input, run.results, {})
    return None


def fan_child_done(m: Machine, run: FanRun, child: Frame, res: Result) -> Result | None:
    """A blocked branch or iteration ended."""
    run.children[child.pos] = 0
    run.running -= 1
    step = m.index[run.path]
    decided = _child_result(m, run, step, child, res)
    if decided is not None:
        return decided
    return fan_start(m, run, step)


def _open_child(m: Machine, run: FanRun, step: Any, pos: int) -> Frame:
    if run.items is None:
        fid = m.emit(EventType.BRANCH_ENTERED, step.name, run.id, {"index": pos})
        frame = Frame(
            id=fid, owner=step.path, slot=f"branches.{pos}", input=run.input, local={}, parent=run.id, pos=pos
        )
        return m.new_frame(frame, step.branches[pos])
    fid = m.emit(EventType.ITERATION_ENTERED, step.name, run.id, {"index": pos})
    inp = child_input(run, pos)
    frame = Frame(id=fid, owner=step.path, slot="steps", input=inp, local={}, parent=run.id, pos=pos)
    return m.new_frame(frame, step.steps)


def _child_result(m: Machine, run: FanRun, step: Any, child: Frame, res: Result) -> Result | None:
    exited = EventType.BRANCH_EXITED if run.items is None else EventType.ITERATION_EXITED
    detail: dict[str, Any] = {"index": child.pos}
    if not res.ok:
        detail["error"], detail["cause"] = res.error, res.cause
    m.emit(exited, step.name, child.id, detail)
    if not res.ok:
        for fid in run.children:
            if fid:
                m.cancel_frame(fid)
        run.children = [0] * len(run.children)
        run.running = 0
        return m.fail_step(step, run.id, res.error, res.cause)
    run.results[child.pos] = res.output
    run.remaining -= 1
    return None
