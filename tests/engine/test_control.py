"""Choice, parallel, foreach, wait, succeed and fail."""

from __future__ import annotations

import pytest

from tests.engine.harness import HANG, LATER, Harness, fail, ok
from tidegate import engine as E

HEAD = "version: v1\ntype: flow\n"
ARN = "acs:fc:::services/s/functions/f"

CHOICE = (
    HEAD
    + """
steps:
  - type: choice
    name: c
    choices:
      - condition: $.v == "a"
        steps:
          - {type: pass, name: inA, outputMappings: [{target: took, source: a}]}
      - condition: $.v == "b"
        goto: last
    default:
      steps:
        - {type: pass, name: inDefault, outputMappings: [{target: took, source: default}]}
  - {type: pass, name: next}
  - {type: pass, name: last}
"""
)


@pytest.mark.parametrize(
    ("v", "entered", "output"),
    [
        ("a", ["c", "inA", "next", "last"], {"took": "a"}),
        ("b", ["c", "last"], {}),
        ("z", ["c", "inDefault", "next", "last"], {"took": "default"}),
    ],
)
def test_choice_branches(v: str, entered: list[str], output: dict[str, str]) -> None:
    h = Harness.of(CHOICE).run({"v": v})
    assert h.entered() == entered
    assert h.output == output


def test_choice_without_default_falls_through() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - type: choice
    name: c
    choices:
      - {condition: $.x == 1, goto: skipped}
  - {type: pass, name: after}
  - {type: pass, name: skipped}
"""
    ).run({"x": 2})
    assert h.entered() == ["c", "after", "skipped"]
    assert h.detail("StepSucceeded", "c") == {"output": {}}


def test_choice_branch_steps_then_goto_and_output_mappings() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - type: choice
    name: c
    outputMappings: [{target: got, source: $local.t}]
    choices:
      - condition: $.go
        steps: [{type: pass, name: b, outputMappings: [{target: t, source: 1}]}]
        goto: end
  - {type: pass, name: skipped}
  - {type: pass, name: end}
"""
    ).run({"go": True})
    assert h.entered() == ["c", "b", "end"]
    assert h.output == {"got": 1}


def test_parallel_doc_example() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - type: parallel
    name: p
    outputMappings: [{target: result, source: "$local[*].result"}]
    branches:
      - steps: [{type: pass, name: p1, outputMappings: [{target: result, source: pass1}]}]
      - steps: [{type: pass, name: p2, outputMappings: [{target: result, source: pass2}]}]
"""
    ).run()
    assert h.output == {"result": ["pass1", "pass2"]}
    assert h.types == [
        "ExecutionStarted", "StepEntered",
        "BranchEntered", "StepEntered", "StepSucceeded", "StepExited", "BranchExited",
        "BranchEntered", "StepEntered", "StepSucceeded", "StepExited", "BranchExited",
        "StepSucceeded", "StepExited", "ExecutionSucceeded",
    ]  # fmt: skip


def test_parallel_default_output_is_empty() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - type: parallel
    name: p
    branches:
      - steps: [{type: pass, name: p1, outputMappings: [{target: r, source: 1}]}]
"""
    ).run({"in": 1})
    assert h.output == {}


def test_parallel_branches_run_concurrently_and_finish_in_any_order() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: parallel
    name: p
    outputMappings: [{{target: r, source: "$local[*].v"}}]
    branches:
      - steps: [{{type: task, name: t1, resourceArn: "{ARN}"}}]
      - steps: [{{type: task, name: t2, resourceArn: "{ARN}"}}]
""",
        {"t1": LATER, "t2": LATER},
    ).run()
    assert len(h.open) == 2  # both invoked in the first transition
    h.report("t2", {"v": 2})
    assert h.status() is E.ExecutionStatus.RUNNING
    h.report("t1", {"v": 1})
    assert h.output == {"r": [1, 2]}  # branch order, not completion order


def test_failing_branch_fails_parallel_and_cancels_the_others() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: parallel
    name: p
    branches:
      - steps: [{{type: task, name: slow, resourceArn: "{ARN}", timeoutSeconds: 60}}]
      - steps: [{{type: wait, name: w, duration: 30}}]
      - steps: [{{type: task, name: bad, resourceArn: "{ARN}"}}]
  - {{type: pass, name: never}}
""",
        {"slow": HANG, "bad": LATER},
    ).start()
    h.settle(fire_timers=False)
    slow_key = h.key_of("slow")
    h.report_failed("bad", "Boom", "it broke")
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.error == ("Boom", "it broke")
    assert slow_key in h.cancelled_tasks
    cancelled_timers = sorted(c.timer_key for c in h.commands if isinstance(c, E.CancelTimer))
    assert len(cancelled_timers) == 2
    assert cancelled_timers[0] == f"{slow_key}.timeout" and cancelled_timers[1].endswith(".wait")
    assert "never" not in h.entered()
    assert h.types[-4:] == ["BranchExited", "StepFailed", "StepExited", "ExecutionFailed"]
    with pytest.raises(E.StaleEvent):
        h.send(E.TaskSucceeded(slow_key, {}))


def test_synchronously_failing_branch_never_invokes_earlier_branch_task() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: parallel
    name: p
    branches:
      - steps: [{{type: task, name: t, resourceArn: "{ARN}"}}]
      - steps: [{{type: fail, name: f, error: E1}}]
"""
    ).run()
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.invocations == []  # opened and abandoned within one transition: never invoked
    assert not any(isinstance(c, E.CancelTask) for c in h.commands)


def test_foreach_doc_example_with_index() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: foreach
    name: fe
    iterationMapping: {{collection: $.names, item: name, index: i}}
    outputMappings: [{{target: upper, source: "$local[*].name"}}]
    steps:
      - {{type: task, name: toUpperCase, resourceArn: "{ARN}"}}
""",
        {"toUpperCase": lambda cmd: ok({"name": cmd.input["name"].upper()})},
    ).run({"names": ["a", "b", "c"]})
    assert [c.input for c in h.invocations] == [
        {"name": "a", "names": ["a", "b", "c"], "i": 0},
        {"name": "b", "names": ["a", "b", "c"], "i": 1},
        {"name": "c", "names": ["a", "b", "c"], "i": 2},
    ]
    assert h.output == {"upper": ["A", "B", "C"]}
    assert h.types.count("IterationEntered") == 3 and h.types.count("IterationExited") == 3


def test_nested_foreach_flattens() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - type: foreach
    name: outer
    iterationMapping: {collection: $.groups, item: g}
    outputMappings: [{target: all, source: "$local[*].parts[*]"}]
    steps:
      - type: foreach
        name: inner
        iterationMapping: {collection: $.g, item: x, index: j}
        outputMappings: [{target: parts, source: "$local[*].p"}]
        steps:
          - {type: pass, name: leaf, outputMappings: [{target: p, source: $input.x}]}
"""
    ).run({"groups": [[1, 2], [3], []]})
    assert h.output == {"all": [1, 2, 3]}


def test_foreach_over_100_items_runs_in_a_window_of_100() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: foreach
    name: fe
    iterationMapping: {{collection: $.xs, item: x}}
    outputMappings: [{{target: ys, source: "$local[*].y"}}]
    steps:
      - {{type: task, name: t, resourceArn: "{ARN}"}}
""",
        {"t": LATER},
    ).start({"xs": list(range(250))})
    assert len(h.open) == 100
    # finish the first 30: exactly 30 more start, the window stays at 100
    for key in sorted(h.open, key=lambda k: int(k.split(".")[0]))[:30]:
        x = h.open[key].input["x"]
        h.send(E.TaskSucceeded(key, {"y": x * 10}))
    assert len(h.open) == 100
    assert max(c.input["x"] for c in h.invocations) == 129
    while h.open:
        key = next(iter(h.open))
        h.send(E.TaskSucceeded(key, {"y": h.open[key].input["x"] * 10}))
    assert h.status() is E.ExecutionStatus.SUCCEEDED
    assert h.output == {"ys": [x * 10 for x in range(250)]}


def test_foreach_collection_not_a_list_fails_with_runtime_error() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - type: foreach
    name: fe
    iterationMapping: {collection: $.xs, item: x}
    steps: [{type: pass, name: p}]
"""
    ).run({"xs": "nope"})
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.error[0] == "FnF.RuntimeError"
    assert h.types[-3:] == ["StepFailed", "StepExited", "ExecutionFailed"]


def test_foreach_empty_collection() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - type: foreach
    name: fe
    iterationMapping: {collection: $.xs, item: x}
    outputMappings: [{target: n, source: $local}]
    steps: [{type: pass, name: p}]
"""
    ).run({"xs": []})
    assert h.output == {"n": []}


def test_foreach_failing_iteration_abandons_queue() -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: foreach
    name: fe
    iterationMapping: {{collection: $.xs, item: x}}
    steps: [{{type: task, name: t, resourceArn: "{ARN}"}}]
""",
        {"t": lambda cmd: fail("Bad") if cmd.input["x"] == 150 else LATER},
    ).start({"xs": list(range(300))})
    for _ in range(60):
        h.send(E.TaskSucceeded(next(iter(h.open)), {}))
    h.settle()
    assert h.status() is E.ExecutionStatus.FAILED and h.error[0] == "Bad"
    assert len(h.invocations) == 160  # 60 finished + a window of 100 (x = 150 fails among them)
    assert len(h.cancelled_tasks) == 99


@pytest.mark.parametrize(
    ("spec", "input", "delay_ms"),
    [
        ("duration: 10", {}, 10_000),
        ("duration: $.s", {"s": 2.5}, 2_500),
        ("duration: $.s", {"s": "3"}, 3_000),
        ('timestamp: "2019-05-02T15:04:05Z"', {}, 5_000),
        ("timestamp: $.ts", {"ts": "2019-05-02T15:04:10.5+00:00"}, 10_500),
    ],
)
def test_wait_forms(spec: str, input: dict[str, object], delay_ms: int) -> None:
    now = E.parse_rfc3339_ms("2019-05-02T15:04:00Z")
    h = Harness.of(HEAD + f"steps:\n  - {{type: wait, name: w, {spec}}}\n  - {{type: pass, name: p}}\n", now=now)
    h.start(input)
    assert [(t.fire_at_ms - now) for t in h.timer_starts()] == [delay_ms]
    assert h.status() is E.ExecutionStatus.RUNNING
    h.advance(delay_ms - 1)
    assert h.status() is E.ExecutionStatus.RUNNING
    h.advance(1)
    assert h.status() is E.ExecutionStatus.SUCCEEDED
    assert h.entered() == ["w", "p"]


def test_wait_timestamp_in_the_past_ends_at_once() -> None:
    now = E.parse_rfc3339_ms("2019-05-02T15:04:00Z")
    h = Harness.of(HEAD + 'steps:\n  - {type: wait, name: w, timestamp: "2019-05-02T15:03:59Z"}\n', now=now).run()
    assert h.timer_starts() == [] and h.transitions == 1
    assert h.status() is E.ExecutionStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("spec", "input"),
    [
        ("duration: $.s", {"s": 172801}),
        ("duration: $.s", {"s": -1}),
        ("duration: $.s", {}),
        ("duration: $.s", {"s": True}),
        ("timestamp: $.t", {"t": "not a time"}),
        ("timestamp: $.t", {"t": "2099-01-01T00:00:00Z"}),
    ],
)
def test_bad_or_too_long_wait_fails_the_step(spec: str, input: dict[str, object]) -> None:
    h = Harness.of(HEAD + f"steps:\n  - {{type: wait, name: w, {spec}}}\n").run(input)
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.error[0] == "FnF.RuntimeError"


def test_wait_of_exactly_two_days_is_allowed() -> None:
    h = Harness.of(HEAD + "steps:\n  - {type: wait, name: w, duration: 172800}\n").start()
    assert h.status() is E.ExecutionStatus.RUNNING


def test_nested_succeed_ends_only_its_own_list() -> None:
    h = Harness.of(
        HEAD
        + """
steps:
  - type: parallel
    name: p
    outputMappings: [{target: ls, source: $local}]
    branches:
      - steps:
          - {type: pass, name: a1, outputMappings: [{target: a, source: 1}]}
          - {type: succeed, name: stop1}
          - {type: pass, name: skipped1}
      - steps:
          - type: choice
            name: c
            choices:
              - condition: $.x == 1
                steps: [{type: succeed, name: stop2}, {type: pass, name: skipped2}]
          - {type: pass, name: b2, outputMappings: [{target: b, source: 2}]}
  - {type: pass, name: after}
"""
    ).run({"x": 1})
    assert h.entered() == ["p", "a1", "stop1", "c", "stop2", "b2", "after"]
    assert h.output == {"ls": [{"a": 1}, {"b": 2}]}


def test_top_level_succeed_ends_execution_with_flow_output() -> None:
    h = Harness.of(
        HEAD
        + """
outputMappings: [{target: v, source: $local.v}]
steps:
  - {type: pass, name: a, outputMappings: [{target: v, source: 1}]}
  - {type: succeed, name: s}
  - {type: fail, name: f}
"""
    ).run()
    assert h.status() is E.ExecutionStatus.SUCCEEDED and h.output == {"v": 1}


@pytest.mark.parametrize(
    ("fields", "error", "cause"),
    [
        ("error: MyError, cause: why", "MyError", "why"),
        ("error: MyError", "MyError", ""),
        ("", "FnF.Failed", ""),
    ],
)
def test_fail_step(fields: str, error: str, cause: str) -> None:
    h = Harness.of(
        HEAD
        + f"""
steps:
  - type: foreach
    name: fe
    iterationMapping: {{collection: $.xs, item: x}}
    steps: [{{type: fail, name: f, {fields}}}]
  - {{type: pass, name: never}}
"""
    ).run({"xs": [1]})
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.error == (error, cause)
    assert h.output is None
    assert h.detail("ExecutionFailed", "") == {"error": error, "cause": cause}
    assert h.types[-7:] == [
        "StepEntered", "StepFailed", "StepExited", "IterationExited", "StepFailed", "StepExited",
        "ExecutionFailed",
    ]  # fmt: skip
