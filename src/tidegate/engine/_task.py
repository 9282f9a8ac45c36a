"""Task steps (docs/flow-language.md, Task targets and patterns): attempts, results, timeouts, retry and catch.

A task attempt has the key ``"{StepEntered id}.{attempt}"``; the engine asks the minter for its token once,
before evaluating inputMappings and serviceParams (so ``$context.task.token`` is the attempt's token) and
re-evaluates them for every attempt, so a retried waitForCallback task hands out its new token.
"""

from __future__ import annotations

from typing import Any

from tidegate.engine import _data
from tidegate.engine._machine import Machine, Result
from tidegate.engine._messages import InvokeTask
from tidegate.engine._state import Frame, TaskRun
from tidegate.engine._types import EventType, StaleEvent
from tidegate.flow.mapping import Scope, apply_mappings
from tidegate.flow.model import Catch, Pattern, TaskStep, error_matches

TASK_TIMEOUT = "FnF.TaskTimeout"
HEARTBEAT_CAUSE = "no heartbeat was reported within {seconds} seconds (heartbeatSeconds)"
DEFAULT_TIMEOUT_CAUSE = (
    "no callback was reported within {seconds} seconds (the server's default callback timeout; "
    "the step sets no timeoutSeconds)"
)
INVALID_LOCAL = "FnF.InvalidLocal"


def enter_task(m: Machine, frame: Frame, step: TaskStep, eid: int) -> None:
    """Schedule the first attempt; a task step always blocks."""
    run = TaskRun(
        id=eid,
        path=step.path,
        frame=frame.id,
        input={},
        derived=step.input_mappings is None,
        counters=[0] * len(step.retry),
    )
    m.s.runs[eid] = run
    schedule_attempt(m, run, step, frame, first=True)


def schedule_attempt(m: Machine, run: TaskRun, step: TaskStep, frame: Frame, first: bool = False) -> None:
    """Open attempt ``run.attempt``: mint its token, build input and params, invoke, arm its timeout."""
    key = f"{run.id}.{run.attempt}"
    token = m.minter(key)
    inp = _data.step_input(step, frame.input, frame.local, m.ctx, run.id, token)
    if first:
        m.events[-1].detail = {"input": inp}
    run.input = inp
    params = _data.params(step.service_params, step.name, inp, m.ctx, run.id, token)
    detail: dict[str, Any] = {
        "resourceArn": step.resource.text,
        "pattern": str(step.pattern),
        "attempt": run.attempt,
        "input": inp,
    }
    if params:
        detail["serviceParams"] = params
    run.scheduled_id = m.emit(EventType.TASK_SCHEDULED, step.name, run.id, detail)
    run.task_key, run.submitted = key, False
    cmd = InvokeTask(
        task_key=key,
        step_name=step.name,
        step_path=step.path,
        resource=step.resource,
        pattern=step.pattern,
        input=inp,
        params=params,
        token=token,
        attempt=run.attempt,
        timeout_seconds=step.timeout_seconds,
        heartbeat_seconds=step.heartbeat_seconds,
    )
    m.invoke(cmd, run.id)
    timeout = step.timeout_seconds
    run.default_timeout = 0
    if not timeout and step.pattern is Pattern.WAIT_FOR_CALLBACK and m.callback_timeout_s > 0:
        timeout = run.default_timeout = m.callback_timeout_s
    if timeout:
        run.timeout_timer = f"{key}.timeout"
        m.start_timer(run.timeout_timer, m.now + timeout * 1000, run.id, key)
    if step.heartbeat_seconds:
        # A heartbeat (ReportTaskHeartbeat) moves this timer on by heartbeatSeconds, in the store only.
        run.heartbeat_timer = f"{key}.heartbeat"
        interval = step.heartbeat_seconds * 1000
        m.start_timer(run.heartbeat_timer, m.now + interval, run.id, key, interval)


def open_task(m: Machine, key: str) -> TaskRun:
    """The run of an open attempt.

    Raises:
        StaleEvent: the attempt is not open (done, timed out, cancelled, or never existed).
    """
    run_id = m.s.tasks.get(key)
    run = m.s.runs.get(run_id) if run_id is not None else None
    if not isinstance(run, TaskRun) or run.task_key != key:
        raise StaleEvent(f"task {key} is not open")
    return run


def _close_attempt(m: Machine, run: TaskRun) -> None:
    m.s.tasks.pop(run.task_key, None)
    run.task_key = ""
    m.cancel_timer(run.timeout_timer)
    m.cancel_timer(run.heartbeat_timer)
    run.timeout_timer = run.heartbeat_timer = ""


def _event_detail(extra: dict[str, Any] | None, **own: Any) -> dict[str, Any]:
    """The history detail of a task result: the event's own fields, then the integration's ``extra`` ones."""
    if not extra:
        return own
    return own | {k: v for k, v in extra.items() if k not in own}


def on_submitted(m: Machine, key: str, extra: dict[str, Any] | None = None) -> None:
    """The integration call of a waitForCallback/async attempt succeeded: the attempt now waits."""
    run = open_task(m, key)
    if run.submitted:
        raise StaleEvent(f"task {key} was already submitted")
    run.submitted = True
    m.emit(EventType.TASK_SUBMITTED, m.index[run.path].name, run.scheduled_id, _event_detail(extra))


def on_succeeded(m: Machine, key: str, output: Any, extra: dict[str, Any] | None = None) -> None:
    """The attempt produced ``output``; a non-object fails it with FnF.InvalidLocal.

    ``extra`` (the integration's report: a function's request id and log tail) goes into the
    ``TaskSucceeded``/``TaskFailed`` history event only, never into the step's data.
    """
    run = open_task(m, key)
    step: TaskStep = m.index[run.path]  # type: ignore[assignment]
    if not isinstance(output, dict):
        cause = f"the task result must be a JSON object, got {type(output).__name__}"
        on_failed(m, key, INVALID_LOCAL, cause, extra)
        return
    _close_attempt(m, run)
    m.emit(EventType.TASK_SUCCEEDED, step.name, run.scheduled_id, _event_detail(extra, output=output))
    m.finish_run(run, m.succeed_step(step, run.id, run.input, output, output))


def on_failed(m: Machine, key: str, error: str, cause: str, extra: dict[str, Any] | None = None) -> None:
    """The attempt failed: retry, catch, or fail the step (``extra`` as in :func:`on_succeeded`)."""
    run = open_task(m, key)
    step: TaskStep = m.index[run.path]  # type: ignore[assignment]
    scheduled = run.scheduled_id
    _close_attempt(m, run)
    m.emit(EventType.TASK_FAILED, step.name, scheduled, _event_detail(extra, error=error, cause=cause))
    handle_error(m, run, step, error, cause)


def on_timer(m: Machine, run: TaskRun, key: str) -> None:
    """The attempt's timeout or the retry back-off timer fired."""
    step: TaskStep = m.index[run.path]  # type: ignore[assignment]
    if key == run.retry_timer:
        run.retry_timer = ""
        run.attempt += 1
        schedule_attempt(m, run, step, m.s.frames[run.frame])
        return
    # The timeout or the heartbeat deadline: abandon the attempt (a late report of its token is
    # TaskAlreadyCompleted). The other of the two timers is cancelled.
    if key == run.heartbeat_timer:
        cause = HEARTBEAT_CAUSE.format(seconds=step.heartbeat_seconds)
    elif run.default_timeout:
        cause = DEFAULT_TIMEOUT_CAUSE.format(seconds=run.default_timeout)
    else:
        cause = f"the task did not finish within {step.timeout_seconds} seconds"
    m.cancel_timer(run.timeout_timer)  # the one that fired is no longer active: cancelling it does nothing
    m.cancel_timer(run.heartbeat_timer)
    run.timeout_timer = run.heartbeat_timer = ""
    scheduled = run.scheduled_id
    m.cancel_task(run.task_key)
    run.task_key = ""
    m.emit(EventType.TASK_TIMED_OUT, step.name, scheduled, {"error": TASK_TIMEOUT, "cause": cause})
    handle_error(m, run, step, TASK_TIMEOUT, cause)


def handle_error(m: Machine, run: TaskRun, step: TaskStep, error: str, cause: str) -> None:
    """The first matching retry policy (own counter), then the first matching catch."""
    for i, policy in enumerate(step.retry):
        if not error_matches(policy.errors, error):
            continue
        if run.counters[i] < policy.max_attempts:
            run.counters[i] += 1
            delay_ms = round(policy.delay(run.counters[i]) * 1000)
            if delay_ms <= 0:
                run.attempt += 1
                schedule_attempt(m, run, step, m.s.frames[run.frame])
            else:
                run.retry_timer = f"{run.id}.{run.attempt}.retry"
                m.start_timer(run.retry_timer, m.now + delay_ms, run.id)
            return
        break  # only the first matching policy applies; once it is exhausted, catch decides
    for i, catch in enumerate(step.catch):
        if error_matches(catch.errors, error):
            res = _catch(m, run, step, i, catch, error, cause)
            if res is not None:
                m.finish_run(run, res)
            return
    m.finish_run(run, m.fail_step(step, run.id, error, cause))


def _catch(m: Machine, run: TaskRun, step: TaskStep, pos: int, catch: Catch, error: str, cause: str) -> Result | None:
    # The step failed (StepFailed is recorded), but the error stops here: its output is the errorMappings
    # object (or {}), extended by the outputs of the catch's own steps, then the goto.
    m.emit(EventType.STEP_FAILED, step.name, run.id, {"error": error, "cause": cause})
    output: dict[str, Any] = {}
    if step.error_mappings is not None:
        local = {"error": error, "cause": cause, "code": error}
        scope = Scope(run.input, local, m.ctx.build(step.name, run.id, None))
        output = apply_mappings(step.error_mappings, scope)
    run.catch_goto = catch.goto
    if not catch.steps:
        return _caught(m, run, step, output)
    frame = Frame(id=run.id, owner=step.path, slot=f"catch.{pos}", input=run.input, local=output, parent=run.id)
    m.new_frame(frame, catch.steps)
    run.catch_frame = frame.id
    res = m.drive(frame)
    if res is None:
        return None
    m.s.frames.pop(frame.id, None)
    return catch_done(m, run, frame, res)


def catch_done(m: Machine, run: TaskRun, frame: Frame, res: Result) -> Result:
    """The catch's steps ended: their list local is the step's output."""
    run.catch_frame = 0
    step: TaskStep = m.index[run.path]  # type: ignore[assignment]
    if not res.ok:
        m.emit(EventType.STEP_EXITED, step.name, run.id, {})
        return Result(False, error=res.error, cause=res.cause)
    return _caught(m, run, step, res.output)


def _caught(m: Machine, run: TaskRun, step: TaskStep, output: dict[str, Any]) -> Result:
    m.check_size(step.name, run.input, output)
    m.emit(EventType.STEP_EXITED, step.name, run.id, {"output": output})
    return Result(True, output, goto=run.catch_goto)
