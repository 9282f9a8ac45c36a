"""Handlers of the control steps: pass, wait, succeed, fail and choice (docs/flow-language.md, Steps)."""

from __future__ import annotations

import math
from typing import Any

from tidegate.engine._data import resolve_self
from tidegate.engine._machine import (
    FAILED_DEFAULT,
    RUNTIME_ERROR,
    Machine,
    Result,
)
from tidegate.engine._state import ChoiceRun, Frame, WaitRun
from tidegate.engine._types import parse_rfc3339_ms
from tidegate.flow._values import MAX_WAIT_SECONDS
from tidegate.flow.model import (
    MISSING,
    ChoiceStep,
    FailStep,
    PassStep,
    Path,
    SucceedStep,
    WaitStep,
)

MAX_WAIT_MS = MAX_WAIT_SECONDS * 1000
"""A wait lasts at most two days (the loader's bound on a literal duration)."""


class _WaitError(Exception):
    pass


def enter_pass(m: Machine, frame: Frame, step: PassStep, eid: int) -> Result:
    """A pass step: ``$local`` is ``{}``; its output is its outputMappings (or ``{}``)."""
    inp = m.step_input(frame, step, eid)
    return m.succeed_step(step, eid, inp, {}, {})


def enter_succeed(m: Machine, frame: Frame, step: SucceedStep, eid: int) -> Result:
    """A succeed step ends the innermost step list successfully (its parent step continues)."""
    inp = m.step_input(frame, step, eid)
    return m.succeed_step(step, eid, inp, {}, {}, stop=True)


def enter_fail(m: Machine, frame: Frame, step: FailStep, eid: int) -> Result:
    """A fail step fails its list with ``error`` (default ``FnF.Failed``) and ``cause`` (default ``""``)."""
    m.step_input(frame, step, eid)
    return m.fail_step(step, eid, step.error or FAILED_DEFAULT, step.cause or "")


def enter_wait(m: Machine, frame: Frame, step: WaitStep, eid: int) -> Result | None:
    """A wait step: a timer, or nothing at all when the time is already past."""
    inp = m.step_input(frame, step, eid)
    try:
        fire_at = _wait_until(step, inp, m.now)
    except _WaitError as exc:
        return m.fail_step(step, eid, RUNTIME_ERROR, str(exc))
    if fire_at <= m.now:
        return m.succeed_step(step, eid, inp, {}, {})
    key = f"{eid}.wait"
    m.s.runs[eid] = WaitRun(
        id=eid, path=step.path, frame=frame.id, input=inp, derived=step.input_mappings is None, timer=key
    )
    m.start_timer(key, fire_at, eid)
    return None


def wait_fired(m: Machine, run: WaitRun) -> None:
    """The wait's timer fired: the step succeeds."""
    step = m.index[run.path]
    run.timer = ""
    m.finish_run(run, m.succeed_step(step, run.id, run.input, {}, {}))


def _wait_until(step: WaitStep, inp: dict[str, Any], now: int) -> int:
    if step.timestamp is not None:
        value = _value(step.timestamp, inp, "timestamp")
        if not isinstance(value, str):
            raise _WaitError(f"wait timestamp must be an RFC 3339 string, got {value!r}")
        try:
            at = parse_rfc3339_ms(value)
        except ValueError:
            raise _WaitError(f"wait timestamp {value!r} is not an RFC 3339 timestamp") from None
    else:
        value = _value(step.duration, inp, "duration")
        seconds = _number(value)
        if seconds is None or seconds < 0:
            raise _WaitError(f"wait duration must be a number of seconds >= 0, got {value!r}")
        at = now + round(seconds * 1000)
    if at - now > MAX_WAIT_MS:
        raise _WaitError(f"wait ends {(at - now) / 1000:g} s from now, more than the limit of 2 days")
    return at


def _value(spec: Any, inp: dict[str, Any], what: str) -> Any:
    if isinstance(spec, Path):
        value = resolve_self(spec, inp)
        if value is MISSING:
            raise _WaitError(f"wait {what} path {spec.text} names nothing in the step input")
        return value
    return spec


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            f = float(value)
        except ValueError:
            return None
        return f if math.isfinite(f) else None
    return None


def enter_choice(m: Machine, frame: Frame, step: ChoiceStep, eid: int) -> Result | None:
    """A choice: the first true condition's steps then goto; else default; else fall through."""
    inp = m.step_input(frame, step, eid)
    slot = ""
    for i, branch in enumerate(step.choices):
        if branch.condition.evaluate(inp):
            slot, steps, goto = f"choices.{i}", branch.steps, branch.goto
            break
    else:
        if step.default is None:
            return m.succeed_step(step, eid, inp, {}, {})
        slot, steps, goto = "default", step.default.steps, step.default.goto
    if not steps:
        return m.succeed_step(step, eid, inp, {}, {}, goto=goto)
    # The branch list's parent is the choice step: it starts from the choice input and an empty local.
    child = m.new_frame(Frame(id=eid, owner=step.path, slot=slot, input=inp, local={}, parent=eid), steps)
    run = ChoiceRun(
        id=eid,
        path=step.path,
        frame=frame.id,
        input=inp,
        derived=step.input_mappings is None,
        child=child.id,
        goto=goto,
    )
    m.s.runs[eid] = run
    res = m.drive(child)
    if res is None:
        return None
    m.s.frames.pop(child.id, None)
    return choice_done(m, run, child, res)


def choice_done(m: Machine, run: ChoiceRun, child: Frame, res: Result) -> Result:
    """The chosen branch ended: ``$local`` = the branch local; then the branch's goto (if any)."""
    step = m.index[run.path]
    if not res.ok:
        return m.fail_step(step, run.id, res.error, res.cause)
    return m.succeed_step(step, run.id, run.input, res.output, res.output, goto=run.goto)
