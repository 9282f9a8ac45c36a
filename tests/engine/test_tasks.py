"""Task steps: results, retry, catch, timeouts, stop, stale and racing events, limits."""

from __future__ import annotations

import json

import pytest

from tests.engine.harness import HANG, LATER, Harness, Outcome, fail, ok
from tidegate import engine as E
from tidegate.flow import Flow, load_flow

HEAD = "version: v1\ntype: flow\n"
ARN = "acs:fc:::services/s/functions/f"


def task(extra: str = "", name: str = "t") -> str:
    return HEAD + f"steps:\n  - type: task\n    name: {name}\n    resourceArn: {ARN}\n" + extra


def test_task_event_sequence_and_output_mappings() -> None:
    h = Harness.of(task("    outputMappings: [{target: r, source: $local.v}]\n"), {"t": ok({"v": 5, "w": 6})}).run(
        {"a": 1}
    )
    assert h.types == [
        "ExecutionStarted", "StepEntered", "TaskScheduled", "TaskSucceeded", "StepSucceeded", "StepExited",
        "ExecutionSucceeded",
    ]  # fmt: skip
    assert h.output == {"r": 5}
    sched = h.detail("TaskScheduled", "t")
    assert sched == {"resourceArn": ARN, "pattern": "requestResponse", "attempt": 1, "input": {"a": 1}}
    ev = {e.type: e for e in h.events}
    assert ev[E.EventType.TASK_SUCCEEDED].schedule_event_id == ev[E.EventType.TASK_SCHEDULED].event_id


def test_wait_for_callback_submitted_then_reported() -> None:
    h = Harness.of(task("    pattern: waitForCallback\n"), {"t": LATER}).run()
    assert h.types[-1] == "TaskSubmitted" and h.status() is E.ExecutionStatus.RUNNING
    assert h.output is None
    h.report("t", {"status": "done"})
    assert h.status() is E.ExecutionStatus.SUCCEEDED and h.output == {"status": "done"}


def test_result_racing_ahead_of_submitted_then_late_submitted_is_stale() -> None:
    h = Harness.of(task("    pattern: waitForCallback\n"), {"t": HANG}).start()
    key = h.key_of("t")
    h.send(E.TaskSucceeded(key, {"x": 1}))
    assert h.status() is E.ExecutionStatus.SUCCEEDED
    assert "TaskSubmitted" not in h.types
    with pytest.raises(E.StaleEvent):
        h.send(E.TaskSubmitted(key))


def test_stale_events_change_nothing() -> None:
    h = Harness.of(task("  - {type: wait, name: w, duration: 5}\n"), {"t": LATER}).run()
    key = h.key_of("t")
    assert h.types[-1] == "TaskSubmitted"
    assert h.state is not None
    before = h.state.to_dict()
    for event in (
        E.TaskSubmitted(key),
        E.TaskSucceeded("99.1", {}),
        E.TimerFired("nope"),
        E.TaskFailed("x", "E", ""),
    ):
        with pytest.raises(E.StaleEvent):
            h.send(event)
    assert h.state.to_dict() == before
    h.report("t", {})
    with pytest.raises(E.StaleEvent):
        h.send(E.TaskSucceeded(key, {}))  # already done: TaskAlreadyCompleted
    h.advance(5000)
    assert h.status() is E.ExecutionStatus.SUCCEEDED
    with pytest.raises(E.StaleEvent):
        h.send(E.StopRequested("E", "c"))  # any event on a terminal execution


@pytest.mark.parametrize("output", [[1, 2], "text", 3, None])
def test_non_object_result_fails_with_invalid_local(output: object) -> None:
    h = Harness.of(task(), {"t": Outcome("ok", output)}).run()
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.error[0] == "FnF.InvalidLocal"
    assert "TaskFailed" in h.types


RETRY = """    retry:
      - errors: [A, B]
        intervalSeconds: 1
        maxAttempts: 3
        multiplier: 2
      - errors: [C, FnF.ALL]
        intervalSeconds: 10
        maxAttempts: 2
        multiplier: 1.5
        maxIntervalSeconds: 12
"""


def test_retry_delays_and_attempt_keys() -> None:
    h = Harness.of(task(RETRY), {"t": [fail("A"), fail("B"), fail("A"), fail("A")]}).run()
    starts = [(t.timer_key, t.fire_at_ms) for t in h.timer_starts()]
    t0 = 1_000_000
    assert [at - t0 for _, at in starts] == [1000, 1000 + 2000, 3000 + 4000]  # 1 s, 2 s, 4 s
    assert [c.attempt for c in h.invocations] == [1, 2, 3, 4]
    assert len({c.task_key for c in h.invocations}) == 4 and len({c.token for c in h.invocations}) == 4
    assert h.status() is E.ExecutionStatus.FAILED and h.error[0] == "A"


def test_retry_policies_keep_their_own_counters() -> None:
    # A,A,A exhausts policy 1; C is counted by policy 2 (2 retries, 10 s then 12 s capped); then success.
    h = Harness.of(task(RETRY), {"t": [fail("A"), fail("C"), fail("A"), fail("Z"), fail("A"), ok({"v": 1})]})
    h.run()
    delays = [
        b.fire_at_ms - a
        for a, b in zip([1_000_000] + [t.fire_at_ms for t in h.timer_starts()], h.timer_starts(), strict=False)
    ]
    assert delays == [1000, 10_000, 2000, 12_000, 4000]
    assert h.status() is E.ExecutionStatus.SUCCEEDED and h.output == {"v": 1}


def test_first_matching_policy_only() -> None:
    # B matches policy 1 only (first match); once exhausted, policy 2 (FnF.ALL) does not take over.
    h = Harness.of(task(RETRY), {"t": fail("B")}).run()
    assert len(h.invocations) == 4
    assert h.status() is E.ExecutionStatus.FAILED


def test_zero_interval_retries_at_once() -> None:
    h = Harness.of(task("    retry: [{errors: [E], intervalSeconds: 0, maxAttempts: 2}]\n"), {"t": fail("E")}).run()
    assert len(h.invocations) == 3 and h.timer_starts() == []


CATCH = (
    HEAD
    + f"""
steps:
  - type: task
    name: t
    resourceArn: {ARN}
    errorMappings:
      - {{target: err, source: $local.error}}
      - {{target: why, source: $local.cause}}
      - {{target: code, source: $local.code}}
      - {{target: in, source: $input.a}}
    catch:
      - errors: [Handled]
        goto: handler
      - errors: [WithSteps]
        steps:
          - {{type: pass, name: cs, outputMappings: [{{target: seen, source: $input.err}}]}}
        goto: handler
  - {{type: pass, name: skipped}}
  - {{type: pass, name: handler}}
"""
)


def test_catch_goto_with_error_mappings() -> None:
    h = Harness.of(CATCH, {"t": fail("Handled", "bad thing")}).run({"a": 1})
    assert h.entered() == ["t", "handler"]
    assert h.output == {"err": "Handled", "why": "bad thing", "code": "Handled", "in": 1}
    assert h.types[2:7] == ["TaskScheduled", "TaskFailed", "StepFailed", "StepExited", "StepEntered"]
    assert h.status() is E.ExecutionStatus.SUCCEEDED


def test_catch_steps_run_before_goto_and_extend_output() -> None:
    h = Harness.of(CATCH, {"t": fail("WithSteps", "c")}).run({"a": 1})
    assert h.entered() == ["t", "cs", "handler"]
    assert h.output == {"err": "WithSteps", "why": "c", "code": "WithSteps", "in": 1, "seen": "WithSteps"}


def test_uncaught_error_fails_execution() -> None:
    h = Harness.of(CATCH, {"t": fail("Other", "x")}).run()
    assert h.status() is E.ExecutionStatus.FAILED and h.error == ("Other", "x")
    assert h.output is None


def test_catch_without_error_mappings_contributes_nothing() -> None:
    h = Harness.of(
        task("    catch: [{errors: [FnF.ALL], goto: after}]\n  - {type: pass, name: after}\n"),
        {"t": fail("E")},
    ).run({"a": 1})
    assert h.output == {} and h.entered() == ["t", "after"]


def test_catch_goto_wins_over_end() -> None:
    h = Harness.of(
        task(
            "    end: true\n    catch: [{errors: [E], goto: onError}]\n"
            "  - {type: pass, name: onError, outputMappings: [{target: handled, source: true}]}\n"
        ),
        {"t": fail("E")},
    ).run()
    assert h.output == {"handled": True}
    h2 = Harness.of(
        task("    end: true\n    catch: [{errors: [E], goto: onError}]\n  - {type: pass, name: onError}\n")
    ).run()
    assert h2.entered() == ["t"]


def test_task_timeout_retry_then_catch() -> None:
    h = Harness.of(
        task(
            "    timeoutSeconds: 5\n"
            "    retry: [{errors: [FnF.TaskTimeout], intervalSeconds: 1, maxAttempts: 1}]\n"
            "    catch: [{errors: [FnF.TaskTimeout], goto: late}]\n"
            "  - {type: pass, name: late}\n"
        ),
        {"t": HANG},
    ).run()
    assert h.types.count("TaskTimedOut") == 2
    assert [c.attempt for c in h.invocations] == [1, 2]
    assert h.cancelled_tasks == [c.task_key for c in h.invocations]
    assert h.detail("TaskTimedOut", "t")["error"] == "FnF.TaskTimeout"
    assert h.entered() == ["t", "late"] and h.status() is E.ExecutionStatus.SUCCEEDED
    t0 = 1_000_000
    assert [t.fire_at_ms - t0 for t in h.timer_starts()] == [5000, 6000, 11_000]
    with pytest.raises(E.StaleEvent):
        h.send(E.TaskSucceeded(h.invocations[0].task_key, {}))


def test_result_before_timeout_cancels_the_timeout_timer() -> None:
    h = Harness.of(task("    timeoutSeconds: 5\n"), {"t": ok({})}).run()
    assert [c.timer_key for c in h.commands if isinstance(c, E.CancelTimer)] == [h.invocations[0].task_key + ".timeout"]


def test_flow_timeout() -> None:
    h = Harness.of(HEAD + "timeoutSeconds: 30\n" + task().split("steps:", 1)[1].join(["steps:", ""]), {"t": HANG})
    h.run()
    assert h.status() is E.ExecutionStatus.TIMED_OUT
    assert h.types[-1] == "ExecutionTimedOut"
    assert h.error[0] == "FnF.Timeout"
    assert h.cancelled_tasks == [h.invocations[0].task_key]
    assert h.timer_starts()[0].fire_at_ms == 1_000_000 + 30_000


def test_flow_timeout_timer_cancelled_on_success() -> None:
    h = Harness.of(HEAD + "timeoutSeconds: 30\nsteps:\n  - {type: pass, name: a}\n").run()
    assert h.status() is E.ExecutionStatus.SUCCEEDED
    assert h.invocations == [] and h.commands == []  # started and cancelled in one transition: nothing


def test_stop_cancels_open_work() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: parallel
    name: p
    branches:
      - steps: [{{type: task, name: t, resourceArn: "{ARN}", pattern: waitForCallback}}]
      - steps: [{{type: wait, name: w, duration: 100}}]
""",
        {"t": LATER},
    ).start()
    h.settle(fire_timers=False)
    key = h.key_of("t")
    h.send(E.StopRequested("AnyCustomError", "stopped by user"))
    assert h.status() is E.ExecutionStatus.STOPPED
    assert h.error == ("AnyCustomError", "stopped by user")
    assert h.types[-1] == "ExecutionStopped"
    assert h.detail("ExecutionStopped", "") == {"error": "AnyCustomError", "cause": "stopped by user"}
    assert key in h.cancelled_tasks
    assert any(isinstance(c, E.CancelTimer) for c in h.commands)
    assert h.state is not None and not h.state.tasks and not h.state.timers


def test_event_limit_fails_execution() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - {type: pass, name: a}
  - type: choice
    name: loop
    choices:
      - {condition: $.forever == true, goto: a}
""",
    ).run({"forever": True})
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.error[0] == "FnF.EventLimitExceeded"
    assert len(h.events) == E.MAX_EVENTS
    assert h.types[-1] == "ExecutionFailed"


def test_event_limit_across_transitions_with_tasks() -> None:
    h = Harness.of(
        task("  - type: choice\n    name: c\n    choices:\n      - {condition: $.go, goto: t}\n"),
        {"t": ok({"go": True})},
    ).run()
    assert h.error[0] == "FnF.EventLimitExceeded" and len(h.events) == E.MAX_EVENTS


def test_step_data_limit_fails_execution() -> None:
    big = "x" * 20_000
    h = Harness.of(task(), {"t": ok({"big": big})}).run({"also": big})
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.error[0] == "FnF.DataSizeExceeded"
    ok_run = Harness.of(task(), {"t": ok({"big": "x" * 10_000})}).run({"also": "y" * 10_000})
    assert ok_run.status() is E.ExecutionStatus.SUCCEEDED


def test_step_data_limit_counts_utf8_bytes() -> None:
    # 8,000 three-byte characters: 24 KB of input, + the same output → over 32 KiB although < 32 K chars
    h = Harness.of(HEAD + "steps:\n  - {type: pass, name: p, outputMappings: [{target: a, source: $input.s}]}\n")
    h.run({"s": "€" * 8000})
    assert h.error[0] == "FnF.DataSizeExceeded"


def test_blocking_catch_steps_and_choice_branch_resume_from_events() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: task
    name: t
    resourceArn: {ARN}
    errorMappings: [{{target: e, source: $local.error}}]
    catch:
      - errors: [E]
        steps:
          - {{type: task, name: compensate, resourceArn: "{ARN}"}}
  - type: choice
    name: c
    choices:
      - condition: $.e == "E"
        steps:
          - {{type: task, name: inBranch, resourceArn: "{ARN}"}}
        goto: last
  - {{type: pass, name: skipped}}
  - {{type: pass, name: last}}
""",
        {"t": fail("E"), "compensate": LATER, "inBranch": LATER},
    ).run()
    h.report("compensate", {"comp": 1})
    assert h.entered() == ["t", "compensate", "c", "inBranch"]
    h.report("inBranch", {"br": 2})
    assert h.entered()[-1] == "last"
    assert h.output == {"e": "E", "comp": 1, "br": 2}


def test_failure_inside_catch_steps_fails_the_task_step() -> None:
    h = Harness.of(
        task("    catch:\n      - errors: [E]\n        steps: [{type: fail, name: f, error: Worse}]\n"),
        {"t": fail("E")},
    ).run()
    assert h.status() is E.ExecutionStatus.FAILED and h.error == ("Worse", "")


def test_timeout_inside_foreach_iteration_fails_the_foreach() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: foreach
    name: fe
    iterationMapping: {{collection: $.xs, item: x}}
    steps: [{{type: task, name: t, resourceArn: "{ARN}", timeoutSeconds: 2}}]
""",
        {"t": lambda cmd: HANG if cmd.input["x"] == 1 else ok({})},
    ).run({"xs": [0, 1, 2]})
    assert h.status() is E.ExecutionStatus.FAILED and h.error[0] == "FnF.TaskTimeout"
    assert h.types.count("IterationExited") == 3


def test_task_retry_reevaluates_input_mappings_against_unchanged_parent() -> None:
    h = Harness.of(
        task(
            "    inputMappings: [{target: tok, source: $context.task.token}, {target: a, source: $input.a}]\n"
            "    retry: [{errors: [E], intervalSeconds: 1, maxAttempts: 1}]\n"
        ),
        {"t": [fail("E"), ok({"r": 1})]},
    ).run({"a": 5})
    assert [c.input for c in h.invocations] == [{"tok": "tok:2.1", "a": 5}, {"tok": "tok:2.2", "a": 5}]
    assert [h.detail("TaskScheduled", "t", n)["attempt"] for n in (0, 1)] == [1, 2]
    assert h.output == {"r": 1}


def _one_task(pattern: str = "requestResponse") -> tuple[Flow, E.Transition, E.InvokeTask]:
    flow = load_flow(task(f"    pattern: {pattern}\n"))
    t = E.start(flow, flow_name="f", execution_name="e", input={}, now_ms=1000, minter=lambda k: "tok:" + k)
    cmd = t.commands[0]
    assert isinstance(cmd, E.InvokeTask)
    return flow, t, cmd


def _apply(flow: Flow, t: E.Transition, event: E.EngineEvent) -> E.Transition:
    return E.apply(flow, t.state, event, now_ms=2000, minter=lambda k: "tok:" + k)


def _event(t: E.Transition, kind: E.EventType) -> E.HistoryEvent:
    return next(e for e in t.events if e.type == kind)


def test_an_integrations_detail_reaches_the_history_event_only() -> None:
    flow, t, cmd = _one_task()
    # 40 KB of log: more than the 32 KiB step data limit, which it must not count against.
    report = {"requestId": "r-1", "logTail": "x" * 40_000, "output": "not the output"}
    event = E.event_from_dict(E.TaskSucceeded(cmd.task_key, {"a": 1}, report).to_dict())  # as the store keeps it
    done = _apply(flow, t, event)
    assert done.status is E.ExecutionStatus.SUCCEEDED and done.output == {"a": 1}
    # The event's own fields come first and win over the integration's.
    assert _event(done, E.EventType.TASK_SUCCEEDED).detail == {
        "output": {"a": 1},
        "requestId": "r-1",
        "logTail": "x" * 40_000,
    }
    assert _event(done, E.EventType.STEP_SUCCEEDED).detail == {"output": {"a": 1}}
    assert "r-1" not in json.dumps(done.state.to_dict())


def test_a_failed_or_invalid_result_keeps_the_detail_and_plain_events_have_none() -> None:
    flow, t, cmd = _one_task()
    report = {"requestId": "r-2", "stackTrace": ["  File x"], "logTail": "printed\n", "logBytes": 8}
    failed = _apply(flow, t, E.TaskFailed(cmd.task_key, "Boom", "it broke", report))
    assert failed.status is E.ExecutionStatus.FAILED and (failed.error, failed.cause) == ("Boom", "it broke")
    assert _event(failed, E.EventType.TASK_FAILED).detail == {"error": "Boom", "cause": "it broke", **report}
    assert _event(failed, E.EventType.STEP_FAILED).detail == {"error": "Boom", "cause": "it broke"}

    flow, t, cmd = _one_task()
    invalid = _apply(flow, t, E.TaskSucceeded(cmd.task_key, [1], {"requestId": "r-3"}))
    assert _event(invalid, E.EventType.TASK_FAILED).detail["requestId"] == "r-3"
    assert invalid.error == "FnF.InvalidLocal"

    assert E.TaskFailed("k", "E", "c").to_dict() == {"type": "TaskFailed", "task_key": "k", "error": "E", "cause": "c"}
    assert E.TaskSubmitted("k").to_dict() == {"type": "TaskSubmitted", "task_key": "k"}


def test_a_submitted_task_event_carries_the_detail() -> None:
    flow, t, cmd = _one_task("waitForCallback")
    waiting = _apply(flow, t, E.event_from_dict(E.TaskSubmitted(cmd.task_key, {"requestId": "r-4"}).to_dict()))
    assert _event(waiting, E.EventType.TASK_SUBMITTED).detail == {"requestId": "r-4"}
    assert waiting.status is E.ExecutionStatus.RUNNING


def test_a_missed_heartbeat_times_the_attempt_out_with_a_heartbeat_cause_then_retry_and_catch() -> None:
    h = Harness.of(
        task(
            "    timeoutSeconds: 60\n"
            "    heartbeatSeconds: 2\n"
            "    retry: [{errors: [FnF.TaskTimeout], intervalSeconds: 1, maxAttempts: 1}]\n"
            "    catch: [{errors: [FnF.TaskTimeout], goto: late}]\n"
            "  - {type: pass, name: late}\n"
        ),
        {"t": HANG},
    ).run()
    assert h.types.count("TaskTimedOut") == 2 and h.entered() == ["t", "late"]
    cause = h.detail("TaskTimedOut", "t")["cause"]
    assert h.detail("TaskTimedOut", "t")["error"] == "FnF.TaskTimeout" and "heartbeat" in cause and "2 seconds" in cause
    starts = h.timer_starts()
    key = h.invocations[0].task_key
    heartbeat = [t for t in starts if t.timer_key == f"{key}.heartbeat"]
    assert [(t.fire_at_ms - 1_000_000, t.task_key, t.heartbeat_ms) for t in heartbeat] == [(2000, key, 2000)]
    timeout = [t for t in starts if t.timer_key == f"{key}.timeout"]
    assert [(t.task_key, t.heartbeat_ms) for t in timeout] == [(key, None)]
    # The missed heartbeat cancelled the attempt's timeout timer too.
    assert f"{key}.timeout" in [c.timer_key for c in h.commands if isinstance(c, E.CancelTimer)]
    assert h.invocations[0].heartbeat_seconds == 2


def test_a_result_cancels_both_the_timeout_and_the_heartbeat_timer() -> None:
    h = Harness.of(task("    timeoutSeconds: 5\n    heartbeatSeconds: 1\n"), {"t": ok({})}).run()
    key = h.invocations[0].task_key
    cancelled = sorted(c.timer_key for c in h.commands if isinstance(c, E.CancelTimer))
    assert cancelled == [f"{key}.heartbeat", f"{key}.timeout"] and h.status() is E.ExecutionStatus.SUCCEEDED


def test_the_default_callback_timeout_applies_to_callbacks_without_timeout_seconds_only() -> None:
    flow = load_flow(task("    pattern: waitForCallback\n"))
    t = E.start(flow, flow_name="f", execution_name="e", input={}, now_ms=0, minter=lambda k: k, callback_timeout_s=9)
    (timer,) = [c for c in t.commands if isinstance(c, E.StartTimer)]
    assert (timer.fire_at_ms, timer.task_key) == (9000, timer.timer_key.removesuffix(".timeout"))
    t = E.apply(flow, t.state, E.TimerFired(timer.timer_key), now_ms=9000, minter=lambda k: k, callback_timeout_s=9)
    assert t.status is E.ExecutionStatus.FAILED and "default callback timeout" in (t.cause or "")
    # Not for a callback whose step sets timeoutSeconds, nor for a requestResponse task, nor when it is 0.
    for extra, default in (("    pattern: waitForCallback\n    timeoutSeconds: 3\n", 9), ("", 9), ("", 0)):
        t = E.start(load_flow(task(extra)), flow_name="f", execution_name="e", input={}, now_ms=0, minter=lambda k: k,
                    callback_timeout_s=default)  # fmt: skip
        assert [c.fire_at_ms for c in t.commands if isinstance(c, E.StartTimer)] == ([3000] if extra else [])


def test_a_state_written_before_heartbeats_existed_still_loads() -> None:
    h = Harness.of(task("    pattern: waitForCallback\n"), {"t": HANG}).run()
    assert h.state is not None
    d = h.state.to_dict()
    for run in d["runs"]:
        run.pop("heartbeat_timer", None)
        run.pop("default_timeout", None)
    again = E.ExecutionState.from_dict(d)
    assert again.to_dict()["runs"][0]["heartbeat_timer"] == ""
