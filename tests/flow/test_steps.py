"""Table tests: each step type and field loads into the model as documented (docs/flow-language.md)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.flow.helpers import flow, steps_doc
from tidegate.flow import (
    ChoiceStep,
    Const,
    FailStep,
    ForeachStep,
    ParallelStep,
    PassStep,
    Path,
    Pattern,
    ResourceKind,
    Root,
    StepType,
    SucceedStep,
    TaskStep,
    WaitStep,
    load_flow,
)


def one(steps: str) -> Any:
    return flow(steps_doc(steps)).steps[0]


def test_top_level_fields() -> None:
    f = flow(
        """
        version: v1beta1
        type: flow
        name: my_flow_name
        timeoutSeconds: 3600
        inputMappings:
          - {target: a, source: $input.x}
        outputMappings:
          - {target: b, source: $local.y}
        steps:
          - {type: pass, name: A}
        """
    )
    assert (f.version, f.name, f.timeout_seconds, f.source) == ("v1beta1", "my_flow_name", 3600, "flow.yaml")
    assert f.input_mappings is not None and f.input_mappings[0].target == "a"
    assert f.output_mappings is not None and f.output_mappings[0].source == Path(Root.LOCAL, ("y",), "$local.y")


def test_json_definition_loads() -> None:
    f = load_flow('{"version": "v1", "type": "flow", "steps": [{"type": "pass", "name": "A", "end": true}]}')
    assert isinstance(f.steps[0], PassStep) and f.steps[0].end is True and f.steps[0].line == 1


def test_absent_mappings_are_none_and_empty_lists_are_empty() -> None:
    a, b = flow(
        steps_doc("- {type: pass, name: A}\n- {type: pass, name: B, inputMappings: [], outputMappings: []}")
    ).steps
    assert (a.input_mappings, a.output_mappings) == (None, None)
    assert (b.input_mappings, b.output_mappings) == ((), ())


TASK_CASES = [
    ("acs:fc:::services/S/functions/F", ResourceKind.FUNCTION, "F", {"service": "S", "qualifier": ""}),
    (
        "acs:fc:cn-shanghai:18807708****3420:services/fnf_test.LATEST/functions/hello",
        ResourceKind.FUNCTION,
        "hello",
        {
            "service": "fnf_test",
            "qualifier": "LATEST",
            "region": "cn-shanghai",
            "account": "18807708****3420",
        },
    ),
    ("acs:mns:::/queues/jobs/messages", ResourceKind.QUEUE, "jobs", {}),
    (
        "acs:mns:cn-hangzhou:123:/topics/news-1/messages",
        ResourceKind.TOPIC,
        "news-1",
        {"region": "cn-hangzhou"},
    ),
    ("acs:fnf:::flow/child_flow", ResourceKind.FLOW, "child_flow", {}),
]


@pytest.mark.parametrize(("arn", "kind", "name", "extra"), TASK_CASES)
def test_task_resource_arns(arn: str, kind: ResourceKind, name: str, extra: dict[str, str]) -> None:
    step = one(f"- type: task\n  name: T\n  resourceArn: {arn}")
    assert isinstance(step, TaskStep) and step.type is StepType.TASK
    assert (step.resource.kind, step.resource.name, step.resource.text) == (kind, name, arn)
    for key, value in extra.items():
        assert getattr(step.resource, key) == value


def test_task_all_fields() -> None:
    step = one(
        """
        - type: task
          name: T
          action: fnf:StartExecution
          pattern: waitForCallback
          timeoutSeconds: 30
          serviceParams:
            FlowName: $.flow_name
            Input: $
            Side: face
            Nested: {a: $.not_a_path}
          inputMappings: [{target: token, source: $context.task.token}]
          errorMappings: [{target: err, source: $local.error}]
          retry:
            - errors: [FnF.TaskTimeout]
              intervalSeconds: 3
              maxIntervalSeconds: 60
              maxAttempts: 10
              multiplier: 1.5
            - errors: [X]
          catch:
            - errors: [FnF.ALL]
              goto: Handle
              steps:
                - {type: pass, name: Note}
        - {type: pass, name: Handle}
        """
    )
    assert isinstance(step, TaskStep)
    assert (step.resource.kind, step.resource.product, step.resource.name) == (
        ResourceKind.ACTION,
        "fnf",
        "StartExecution",
    )
    assert step.pattern is Pattern.WAIT_FOR_CALLBACK and step.timeout_seconds == 30
    params = dict(step.service_params)
    assert params["FlowName"] == Path(Root.SELF, ("flow_name",), "$.flow_name")
    assert params["Input"] == Path(Root.SELF, (), "$")
    assert params["Side"] == Const("face") and params["Nested"] == Const({"a": "$.not_a_path"})
    assert step.error_mappings is not None and step.error_mappings[0].target == "err"
    first, second = step.retry
    assert (
        first.errors,
        first.interval_seconds,
        first.max_interval_seconds,
        first.max_attempts,
        first.multiplier,
    ) == (
        ("FnF.TaskTimeout",),
        3,
        60,
        10,
        1.5,
    )
    assert (second.interval_seconds, second.max_interval_seconds, second.max_attempts, second.multiplier) == (
        1,
        86400,
        3,
        2,
    )
    assert second.delay(1) == 1 and second.delay(3) == 4
    (catch,) = step.catch
    assert (
        catch.goto == "Handle" and catch.errors == ("FnF.ALL",) and catch.steps[0].path == "steps[0].catch[0].steps[0]"
    )


def test_task_defaults() -> None:
    step = one("- type: task\n  name: T\n  resourceArn: acs:fc:::services/S/functions/F")
    assert isinstance(step, TaskStep)
    assert step.pattern is Pattern.REQUEST_RESPONSE and step.timeout_seconds is None
    assert (step.service_params, step.retry, step.catch, step.error_mappings) == ((), (), (), None)


def test_sync_pattern() -> None:
    step = one("- type: task\n  name: T\n  resourceArn: acs:fnf:::flow/c\n  pattern: sync")
    assert isinstance(step, TaskStep) and step.pattern is Pattern.SYNC


WAIT_CASES = [
    ("duration: 10", 10, None),
    ("duration: 0.5", 0.5, None),
    ("duration: '30'", 30, None),
    ("duration: 172800", 172800, None),
    ("duration: $.pollInterval", Path(Root.SELF, ("pollInterval",), "$.pollInterval"), None),
    ("timestamp: 2019-05-02T15:04:05Z", None, "2019-05-02T15:04:05Z"),
    ("timestamp: '2019-05-02T15:04:05.123+08:00'", None, "2019-05-02T15:04:05.123+08:00"),
    ("timestamp: $.timestamp", None, Path(Root.SELF, ("timestamp",), "$.timestamp")),
]


@pytest.mark.parametrize(("field", "duration", "timestamp"), WAIT_CASES)
def test_wait(field: str, duration: object, timestamp: object) -> None:
    step = one(f"- type: wait\n  name: W\n  {field}")
    assert isinstance(step, WaitStep) and step.type is StepType.WAIT
    assert (step.duration, step.timestamp) == (duration, timestamp)


def test_choice() -> None:
    f = flow(
        steps_doc(
            """
            - type: choice
              name: C
              choices:
                - condition: $.status == "running"
                  steps:
                    - {type: pass, name: P}
                  goto: C
                - condition: $.hasMore
              default:
                steps:
                  - {type: pass, name: D}
                goto: Done
            - {type: succeed, name: Done}
            """
        )
    )
    step = f.steps[0]
    assert isinstance(step, ChoiceStep) and step.type is StepType.CHOICE
    assert [b.condition.text for b in step.choices] == ['$.status == "running"', "$.hasMore"]
    assert step.choices[0].goto == "C" and step.choices[1].goto is None and step.choices[1].steps == ()
    assert step.choices[0].condition.evaluate({"status": "running"}) is True
    assert step.default is not None and step.default.goto == "Done"
    assert f.steps_by_path["steps[0].choices[0].steps[0]"].name == "P"
    assert f.steps_by_path["steps[0].default.steps[0]"].name == "D"


def test_choice_without_default() -> None:
    step = one("- type: choice\n  name: C\n  choices:\n    - condition: $.a\n      goto: C")
    assert isinstance(step, ChoiceStep) and step.default is None


def test_parallel_and_nested_paths() -> None:
    f = flow(
        steps_doc(
            """
            - type: parallel
              name: P
              branches:
                - steps:
                    - {type: pass, name: A}
                - steps:
                    - {type: pass, name: A}
                    - {type: pass, name: B}
            """
        )
    )
    step = f.steps[0]
    assert isinstance(step, ParallelStep) and step.type is StepType.PARALLEL
    assert [[s.name for s in b] for b in step.branches] == [["A"], ["A", "B"]]
    assert sorted(f.steps_by_path) == [
        "steps[0]",
        "steps[0].branches[0].steps[0]",
        "steps[0].branches[1].steps[0]",
        "steps[0].branches[1].steps[1]",
    ]
    assert f.steps_by_path["steps[0].branches[1].steps[1]"].line == 11


@pytest.mark.parametrize(
    ("mapping", "root", "index"),
    [
        ("{collection: $.names, item: name}", Root.SELF, None),
        ("{collection: $input.a.b, item: x, index: i}", Root.INPUT, "i"),
    ],
)
def test_foreach(mapping: str, root: Root, index: str | None) -> None:
    step = one(f"- type: foreach\n  name: F\n  iterationMapping: {mapping}\n  steps: [{{type: pass, name: A}}]")
    assert isinstance(step, ForeachStep) and step.type is StepType.FOREACH
    assert step.collection.root is root and step.index == index and step.steps[0].path == "steps[0].steps[0]"


def test_succeed_and_fail() -> None:
    s, f1, f2 = flow(
        steps_doc(
            "- {type: succeed, name: S}\n- {type: fail, name: F1, error: Boom, cause: why}\n- {type: fail, name: F2}"
        )
    ).steps
    assert isinstance(s, SucceedStep) and s.type is StepType.SUCCEED
    assert isinstance(f1, FailStep) and (f1.error, f1.cause) == ("Boom", "why")
    assert isinstance(f2, FailStep) and (f2.error, f2.cause) == (None, None) and f2.type is StepType.FAIL


def test_pass_end_and_lines() -> None:
    a, b = flow(steps_doc("- type: pass\n  name: A\n  end: true\n- type: pass\n  name: B")).steps
    assert isinstance(a, PassStep) and a.end is True and b.end is False
    assert (a.line, b.line, a.path, b.path) == (4, 7, "steps[0]", "steps[1]")


def test_model_is_immutable() -> None:
    step = one("- {type: pass, name: A}")
    with pytest.raises(AttributeError):
        step.name = "B"
