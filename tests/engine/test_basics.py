"""Sequential steps, end, goto, data rules, $context, history format, state round trips, the API surface."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.engine.harness import Harness, ok
from tidegate import engine as E

HEAD = "version: v1\ntype: flow\n"
ARN = "acs:fc:::services/s/functions/f"


def test_sequential_pass_steps_event_order_and_output() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - {type: pass, name: a, outputMappings: [{target: x, source: 1}]}
  - {type: pass, name: b, outputMappings: [{target: y, source: $input.x}]}
"""
    ).run({"k": "v"})
    assert h.types == [
        "ExecutionStarted",
        "StepEntered", "StepSucceeded", "StepExited",
        "StepEntered", "StepSucceeded", "StepExited",
        "ExecutionSucceeded",
    ]  # fmt: skip
    assert h.status() is E.ExecutionStatus.SUCCEEDED
    assert h.output == {"x": 1, "y": 1}
    # b's default input = merge(flow input, flow local)
    assert h.detail("StepEntered", "b") == {"input": {"k": "v", "x": 1}}
    assert [e.schedule_event_id for e in h.events] == [0, 1, 2, 2, 1, 5, 5, 1]


def test_local_wins_over_input_and_later_outputs_overwrite() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - {type: pass, name: a, outputMappings: [{target: k, source: from_a}, {target: z, source: 1}]}
  - {type: pass, name: b, outputMappings: [{target: k, source: $input.k}]}
  - {type: pass, name: c, outputMappings: [{target: k, source: from_c}]}
"""
    ).run({"k": "from_input"})
    assert h.detail("StepEntered", "b")["input"]["k"] == "from_a"
    assert h.output == {"k": "from_c", "z": 1}


def test_flow_input_and_output_mappings() -> None:
    h = Harness.of(
        HEAD
        + """
inputMappings: [{target: n, source: $input.raw.n}]
outputMappings: [{target: result, source: $local.v}, {target: n, source: $input.n}]
steps:
  - {type: pass, name: a, outputMappings: [{target: v, source: $input.n}]}
"""
    ).run({"raw": {"n": 7}})
    assert h.detail("StepEntered", "a") == {"input": {"n": 7}}
    assert h.output == {"result": 7, "n": 7}


def test_end_true_ends_the_list() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - {type: pass, name: a, end: true}
  - {type: pass, name: b}
"""
    ).run()
    assert h.entered() == ["a"]
    assert h.status() is E.ExecutionStatus.SUCCEEDED


def test_goto_loop_with_choice_counts_down() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - type: task
    name: dec
    resourceArn: acs:fc:::services/s/functions/dec
  - type: choice
    name: more
    choices:
      - condition: $.n > 0
        goto: dec
  - {type: pass, name: done}
""",
        {"dec": lambda cmd: ok({"n": cmd.input["n"] - 1})},
    ).run({"n": 3})
    assert h.entered() == ["dec", "more"] * 3 + ["done"]
    assert h.output == {"n": 0}


def test_context_fields() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: task
    name: t
    resourceArn: {ARN}
    inputMappings:
      - {{target: token, source: $context.task.token}}
      - {{target: exec, source: $context.execution.name}}
      - {{target: flow, source: $context.flow.name}}
      - {{target: step, source: $context.step.name}}
      - {{target: eid, source: $context.step.eventId}}
      - {{target: started, source: $context.execution.startedTime}}
    serviceParams:
      Tok: $context.task.token
      Body: $
  - type: pass
    name: p
    inputMappings:
      - {{target: eid, source: $context.step.eventId}}
      - {{target: token, source: $context.task.token}}
""",
        flow_name="myflow",
        execution_name="run1",
        now=1_557_045_239_384,
    ).run()
    inv = h.invocations[0]
    entered = [e.event_id for e in h.events if e.type is E.EventType.STEP_ENTERED]
    assert inv.input == {
        "token": inv.token,
        "exec": "run1",
        "flow": "myflow",
        "step": "t",
        "eid": entered[0],
        "started": "2019-05-05T08:33:59.384Z",
    }
    assert inv.token == f"tok:{entered[0]}.1" and inv.task_key == f"{entered[0]}.1"
    assert inv.params == {"Tok": inv.token, "Body": inv.input}
    # $context.task exists for task steps only
    assert h.detail("StepEntered", "p") == {"input": {"eid": entered[1]}}


def test_history_api_form() -> None:
    h = Harness.of(HEAD + "steps:\n  - {type: pass, name: a}\n", now=1_557_045_239_384).run({"key": "hello"})
    first = h.events[0].to_api()
    assert first == {
        "EventId": 1,
        "ScheduleEventId": 0,
        "Type": "ExecutionStarted",
        "StepName": "",
        "Time": "2019-05-05T08:33:59.384Z",
        "EventDetail": '{"input":{"key":"hello"}}',
    }
    assert E.HistoryEvent.from_dict(json.loads(json.dumps(h.events[1].to_dict()))) == h.events[1]


def test_non_object_execution_input_fails() -> None:
    h = Harness.of(HEAD + "steps:\n  - {type: pass, name: a}\n").run([1, 2])
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.error[0] == "FnF.RuntimeError"
    assert h.types == ["ExecutionStarted", "ExecutionFailed"]


def test_state_and_messages_round_trip_mid_execution() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: parallel
    name: p
    branches:
      - steps: [{{type: task, name: t, resourceArn: "{ARN}", timeoutSeconds: 5}}]
      - steps: [{{type: wait, name: w, duration: 3}}]
"""
    ).start()
    assert h.state is not None
    d = json.loads(json.dumps(h.state.to_dict()))
    assert E.ExecutionState.from_dict(d).to_dict() == d
    for ev in (
        E.TaskSubmitted("k"),
        E.TaskSucceeded("k", {"a": 1}),
        E.TaskFailed("k", "E", "c"),
        E.TimerFired("t"),
        E.StopRequested("E", "c"),
    ):
        assert E.event_from_dict(json.loads(json.dumps(ev.to_dict()))) == ev


def test_status_table() -> None:
    assert E.ExecutionStatus.RUNNING not in E.TERMINAL
    assert E.TERMINAL == {"Succeeded", "Failed", "TimedOut", "Stopped"}
    for s in E.TERMINAL:
        assert E.TRANSITIONS[s] == frozenset()
    assert {t.value for t in E.EventType} >= {
        "StepEntered", "StepStarted", "StepSucceeded", "StepFailed", "StepExited", "BranchEntered",
        "BranchExited", "IterationEntered", "IterationExited", "TaskScheduled", "TaskStarted",
        "TaskSubmitted", "TaskSubmitFailed", "TaskSucceeded", "TaskFailed", "TaskTimedOut",
        "ExecutionStarted", "ExecutionStopped", "ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut",
    }  # fmt: skip


def test_exported_names() -> None:
    expected = """start apply ExecutionState Transition TokenMinter StaleEvent InvokeTask StartTimer
    CancelTimer
    CancelTask TaskSubmitted TaskSucceeded TaskFailed TimerFired StopRequested EventType ExecutionStatus
    HistoryEvent command_from_dict event_from_dict TERMINAL""".split()
    assert set(expected) <= set(E.__all__)
    assert all(hasattr(E, name) for name in E.__all__)
    assert issubclass(E.StaleEvent, __import__("tidegate.errors").errors.InvalidTransition)


_ALLOWED_STDLIB = {
    "__future__",
    "collections",
    "dataclasses",
    "datetime",
    "enum",
    "functools",
    "json",
    "math",
    "types",
    "typing",
}


@pytest.mark.parametrize("path", sorted((REPO / "src/tidegate/engine").glob("*.py")), ids=lambda p: p.name)
def test_engine_imports_only_flow_errors_and_pure_stdlib(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top == "tidegate":
                pure = ("tidegate.engine", "tidegate.flow", "tidegate.errors", "tidegate.jsontext", "tidegate.status")
                assert name.startswith(pure), name
            else:
                assert top in _ALLOWED_STDLIB, f"{path.name} imports {name}"
