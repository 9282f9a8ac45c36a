"""One test per validation rule: each bad definition gives an issue with the right path, line and message."""

from __future__ import annotations

import pytest

from tests.flow.helpers import issues, steps_doc
from tidegate.errors import FlowIssue, FlowValidationError
from tidegate.flow import load_flow

TASK = "acs:fc:::services/S/functions/F"

# (id, steps YAML (line 1 of the snippet is line 4 of the document), path, line, message fragment)
STEP_CASES = [
    ("unknown-key", "- type: pass\n  name: A\n  colour: red", "steps[0].colour", 6, 'unknown field "colour"'),
    ("missing-type", "- name: A", "steps[0]", 4, 'missing required field "type"'),
    ("missing-name", "- type: pass", "steps[0]", 4, 'missing required field "name"'),
    ("name-not-string", "- type: pass\n  name: 12", "steps[0].name", 5, "must be a string, not a number"),
    ("bad-name-chars", "- type: pass\n  name: a.b", "steps[0].name", 5, 'bad step name "a.b"'),
    ("bad-name-first", "- type: pass\n  name: -a", "steps[0].name", 5, 'bad step name "-a"'),
    ("name-too-long", f"- type: pass\n  name: {'a' * 129}", "steps[0].name", 5, "bad step name"),
    ("step-not-object", "- just text", "steps[0]", 4, "a step must be an object, not a string"),
    ("unknown-type", "- type: sleep\n  name: A", "steps[0].type", 4, 'unknown step type "sleep"'),
    ("loop-refused", "- type: loop\n  name: A", "steps[0].type", 4, "loop steps are not supported"),
    ("end-not-bool", "- type: pass\n  name: A\n  end: 'yes'", "steps[0].end", 6, "must be true or false"),
    (
        "end-on-succeed",
        "- type: succeed\n  name: A\n  end: true",
        "steps[0].end",
        6,
        "not allowed in succeed",
    ),
    ("end-on-fail", "- type: fail\n  name: A\n  end: true", "steps[0].end", 6, "not allowed in fail"),
    ("retry-on-pass", "- type: pass\n  name: A\n  retry: []", "steps[0].retry", 6, "only allowed in task"),
    (
        "duplicate-sibling",
        "- type: pass\n  name: A\n- type: pass\n  name: A",
        "steps[1].name",
        6,
        'duplicate step name "A" (also steps[0])',
    ),
    (
        "unknown-pattern",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  pattern: async",
        "steps[0].pattern",
        7,
        'unknown pattern "async"',
    ),
    ("task-no-target", "- type: task\n  name: A", "steps[0]", 4, 'needs "resourceArn" or "action"'),
    (
        "task-both-targets",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  action: fnf:StartExecution",
        "steps[0].action",
        7,
        "not both",
    ),
    (
        "bad-arn",
        "- type: task\n  name: A\n  resourceArn: arn:aws:lambda:x",
        "steps[0].resourceArn",
        6,
        "not a valid resource ARN",
    ),
    (
        "bad-arn-mns",
        "- type: task\n  name: A\n  resourceArn: acs:mns:::/queues/q",
        "steps[0].resourceArn",
        6,
        "not a valid resource ARN",
    ),
    (
        "ref-service-only",
        "- type: task\n  name: A\n  resourceArn: !Ref S",
        "steps[0].resourceArn",
        6,
        "names a Function Compute service but no function",
    ),
    (
        "bad-action",
        "- type: task\n  name: A\n  action: StartExecution",
        "steps[0].action",
        6,
        "not a valid action",
    ),
    (
        "task-timeout-zero",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  timeoutSeconds: 0",
        "steps[0].timeoutSeconds",
        7,
        "must be a positive number",
    ),
    (
        "task-timeout-float",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  timeoutSeconds: 1.5",
        "steps[0].timeoutSeconds",
        7,
        "must be an integer",
    ),
    (
        "heartbeat-zero",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  heartbeatSeconds: 0",
        "steps[0].heartbeatSeconds",
        7,
        "must be 1-31536000 seconds",
    ),
    (
        "heartbeat-float",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  heartbeatSeconds: 1.5",
        "steps[0].heartbeatSeconds",
        7,
        "must be an integer",
    ),
    (
        "heartbeat-over-timeout",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  timeoutSeconds: 5\n  heartbeatSeconds: 6",
        "steps[0].heartbeatSeconds",
        8,
        "must be at most timeoutSeconds (5), not 6",
    ),
    (
        "heartbeat-on-a-message",
        "- type: task\n  name: A\n  resourceArn: acs:mns:::/queues/q/messages\n  heartbeatSeconds: 5",
        "steps[0].heartbeatSeconds",
        7,
        "only a task that waits on a callback",
    ),
    (
        "heartbeat-on-a-sync-child",
        "- type: task\n  name: A\n  resourceArn: acs:fnf:::flow/c\n  pattern: sync\n  heartbeatSeconds: 5",
        "steps[0].heartbeatSeconds",
        8,
        "not a sync task",
    ),
    (
        "heartbeat-on-a-pass",
        "- type: pass\n  name: A\n  heartbeatSeconds: 5",
        "steps[0].heartbeatSeconds",
        6,
        "only allowed in task steps",
    ),
    (
        "service-params-list",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  serviceParams: [1]",
        "steps[0].serviceParams",
        7,
        "must be an object",
    ),
    (
        "service-params-bad-path",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  serviceParams:\n    X: $..a",
        "steps[0].serviceParams.X",
        8,
        "expected a key",
    ),
    (
        "retry-errors-empty",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  retry:\n    - errors: []",
        "steps[0].retry[0].errors",
        8,
        "at least one error name",
    ),
    (
        "retry-errors-missing",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  retry:\n    - maxAttempts: 1",
        "steps[0].retry[0]",
        8,
        'missing required field "errors"',
    ),
    (
        "retry-errors-not-strings",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  retry:\n    - errors: [1]",
        "steps[0].retry[0].errors",
        8,
        "item 0 must be an error name",
    ),
    (
        "retry-interval-range",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  retry:\n    - errors: [X]\n      intervalSeconds: 86401",
        "steps[0].retry[0].intervalSeconds",
        9,
        "between 0 and 86400",
    ),
    (
        "retry-max-interval-range",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  retry:\n    - errors: [X]\n      maxIntervalSeconds: -1",
        "steps[0].retry[0].maxIntervalSeconds",
        9,
        "between 0 and 86400",
    ),
    (
        "retry-max-attempts-negative",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  retry:\n    - errors: [X]\n      maxAttempts: -1",
        "steps[0].retry[0].maxAttempts",
        9,
        "must be 0 or more",
    ),
    (
        "retry-multiplier-below-one",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  retry:\n    - errors: [X]\n      multiplier: 0.5",
        "steps[0].retry[0].multiplier",
        9,
        "must be 1 or more",
    ),
    (
        "retry-unknown-key",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  retry:\n    - errors: [X]\n      backoff: 2",
        "steps[0].retry[0].backoff",
        9,
        'unknown field "backoff"',
    ),
    (
        "catch-errors-not-list",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  catch:\n    - errors: X\n      goto: A",
        "steps[0].catch[0].errors",
        8,
        "must be a list",
    ),
    (
        "catch-goto-missing",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  catch:\n    - errors: [X]",
        "steps[0].catch[0]",
        8,
        'missing required field "goto"',
    ),
    (
        "catch-goto-not-sibling",
        f"- type: task\n  name: A\n  resourceArn: {TASK}\n  catch:\n    - errors: [X]\n      goto: Nowhere",
        "steps[0].catch[0].goto",
        9,
        'no step named "Nowhere" beside "A"',
    ),
    ("wait-neither", "- type: wait\n  name: W", "steps[0]", 4, "exactly one of"),
    (
        "wait-both",
        "- type: wait\n  name: W\n  duration: 1\n  timestamp: '2019-05-02T15:04:05Z'",
        "steps[0]",
        4,
        "not both",
    ),
    (
        "wait-duration-negative",
        "- type: wait\n  name: W\n  duration: -1",
        "steps[0].duration",
        6,
        "between 0 and 172800",
    ),
    (
        "wait-duration-over-two-days",
        "- type: wait\n  name: W\n  duration: 172801",
        "steps[0].duration",
        6,
        "between 0 and 172800",
    ),
    (
        "wait-duration-text",
        "- type: wait\n  name: W\n  duration: soon",
        "steps[0].duration",
        6,
        "neither a number of seconds nor a path",
    ),
    (
        "wait-duration-bool",
        "- type: wait\n  name: W\n  duration: true",
        "steps[0].duration",
        6,
        "must be a number of seconds or a path",
    ),
    (
        "wait-timestamp-not-rfc3339",
        "- type: wait\n  name: W\n  timestamp: 2019-05-02 15:04",
        "steps[0].timestamp",
        6,
        "not an RFC 3339 time",
    ),
    (
        "wait-timestamp-impossible",
        "- type: wait\n  name: W\n  timestamp: 2019-02-30T15:04:05Z",
        "steps[0].timestamp",
        6,
        "not an RFC 3339 time",
    ),
    ("choice-no-choices", "- type: choice\n  name: C", "steps[0]", 4, 'missing required field "choices"'),
    (
        "choice-empty-choices",
        "- type: choice\n  name: C\n  choices: []",
        "steps[0].choices",
        6,
        "must not be empty",
    ),
    (
        "choice-missing-condition",
        "- type: choice\n  name: C\n  choices:\n    - goto: C",
        "steps[0].choices[0]",
        7,
        'missing required field "condition"',
    ),
    (
        "choice-bad-condition",
        "- type: choice\n  name: C\n  choices:\n    - condition: $.a === 1\n      goto: C",
        "steps[0].choices[0].condition",
        7,
        'condition "$.a === 1"',
    ),
    (
        "choice-goto-not-sibling",
        "- type: pass\n  name: X\n- type: choice\n  name: CheckStatus\n  choices:\n    - condition: $.a\n"
        "      goto: Retry",
        "steps[1].choices[0].goto",
        10,
        'no step named "Retry" beside "CheckStatus"',
    ),
    (
        "choice-goto-into-branch",
        "- type: choice\n  name: C\n  choices:\n    - condition: $.a\n      steps:\n        - type: pass\n"
        "          name: Inner\n  default:\n    goto: Inner",
        "steps[0].default.goto",
        12,
        'no step named "Inner" beside "C"',
    ),
    (
        "choice-default-unknown-key",
        "- type: choice\n  name: C\n  choices:\n    - condition: $.a\n  default:\n    next: C",
        "steps[0].default.next",
        9,
        'unknown field "next"',
    ),
    (
        "parallel-no-branches",
        "- type: parallel\n  name: P",
        "steps[0]",
        4,
        'missing required field "branches"',
    ),
    (
        "parallel-branch-no-steps",
        "- type: parallel\n  name: P\n  branches:\n    - {}",
        "steps[0].branches[0]",
        7,
        'missing required field "steps"',
    ),
    (
        "foreach-no-mapping",
        "- type: foreach\n  name: F\n  steps: [{type: pass, name: A}]",
        "steps[0]",
        4,
        'missing required field "iterationMapping"',
    ),
    (
        "foreach-no-steps",
        "- type: foreach\n  name: F\n  iterationMapping: {collection: $.xs, item: x}",
        "steps[0]",
        4,
        'missing required field "steps"',
    ),
    (
        "foreach-collection-local",
        "- type: foreach\n  name: F\n  iterationMapping:\n    collection: $local.xs\n    item: x\n"
        "  steps: [{type: pass, name: A}]",
        "steps[0].iterationMapping.collection",
        7,
        "must be a path into the step input",
    ),
    (
        "foreach-collection-constant",
        "- type: foreach\n  name: F\n  iterationMapping:\n    collection: names\n    item: x\n"
        "  steps: [{type: pass, name: A}]",
        "steps[0].iterationMapping.collection",
        7,
        "is not a path",
    ),
    (
        "foreach-item-missing",
        "- type: foreach\n  name: F\n  iterationMapping:\n    collection: $.xs\n  steps: [{type: pass, name: A}]",
        "steps[0].iterationMapping",
        7,
        'missing required field "item"',
    ),
    (
        "foreach-index-not-string",
        "- type: foreach\n  name: F\n  iterationMapping:\n    collection: $.xs\n    item: x\n    index: 0\n"
        "  steps: [{type: pass, name: A}]",
        "steps[0].iterationMapping.index",
        9,
        "must be a string",
    ),
    (
        "fail-error-empty",
        "- type: fail\n  name: F\n  error: ''",
        "steps[0].error",
        6,
        "must be 1-128 characters",
    ),
    (
        "fail-error-too-long",
        f"- type: fail\n  name: F\n  error: {'E' * 129}",
        "steps[0].error",
        6,
        "must be 1-128 characters",
    ),
    (
        "fail-cause-not-string",
        "- type: fail\n  name: F\n  cause: [x]",
        "steps[0].cause",
        6,
        "must be a string",
    ),
    (
        "mapping-not-list",
        "- type: pass\n  name: A\n  inputMappings: {target: a}",
        "steps[0].inputMappings",
        6,
        "must be a list",
    ),
    (
        "mapping-no-target",
        "- type: pass\n  name: A\n  outputMappings:\n    - source: 1",
        "steps[0].outputMappings[0]",
        7,
        'missing required field "target"',
    ),
    (
        "mapping-no-source",
        "- type: pass\n  name: A\n  outputMappings:\n    - target: a",
        "steps[0].outputMappings[0]",
        7,
        'missing required field "source"',
    ),
    (
        "mapping-bad-path",
        "- type: pass\n  name: A\n  outputMappings:\n    - target: a\n      source: $input.[0",
        "steps[0].outputMappings[0].source",
        8,
        "expected a key",
    ),
    (
        "mapping-unknown-key",
        "- type: pass\n  name: A\n  outputMappings:\n    - target: a\n      source: 1\n      default: 2",
        "steps[0].outputMappings[0].default",
        9,
        'unknown field "default"',
    ),
]


@pytest.mark.parametrize(
    ("steps", "path", "line", "fragment"), [c[1:] for c in STEP_CASES], ids=[c[0] for c in STEP_CASES]
)
def test_step_rule(steps: str, path: str, line: int, fragment: str) -> None:
    found = issues(steps_doc(steps))
    assert _has(found, path, line, fragment), "\n".join(str(i) for i in found)


def test_parallel_branch_limit() -> None:
    branches = "".join(f"    - steps: [{{type: pass, name: B{i}}}]\n" for i in range(101))
    found = issues(steps_doc(f"- type: parallel\n  name: P\n  branches:\n{branches}"))
    assert _has(found, "steps[0].branches", 6, "at most 100 branches, not 101")
    ok = "".join(f"    - steps: [{{type: pass, name: B{i}}}]\n" for i in range(100))
    assert issues(steps_doc(f"- type: parallel\n  name: P\n  branches:\n{ok}")) == []


TOP_CASES = [
    (
        "missing-version",
        "type: flow\nsteps: [{type: pass, name: A}]\n",
        "",
        1,
        'missing required field "version"',
    ),
    (
        "bad-version",
        "version: v2\ntype: flow\nsteps: [{type: pass, name: A}]\n",
        "version",
        1,
        'unsupported version "v2"',
    ),
    (
        "bad-type",
        "version: v1\ntype: workflow\nsteps: [{type: pass, name: A}]\n",
        "type",
        2,
        'must be "flow"',
    ),
    ("missing-steps", "version: v1\ntype: flow\n", "", 1, 'missing required field "steps"'),
    ("empty-steps", "version: v1\ntype: flow\nsteps: []\n", "steps", 3, "must not be empty"),
    (
        "unknown-top-key",
        "version: v1\ntype: flow\nsteps: [{type: pass, name: A}]\ndescription: x\n",
        "description",
        4,
        'unknown field "description"',
    ),
    (
        "flow-timeout-zero",
        "version: v1\ntype: flow\ntimeoutSeconds: 0\nsteps: [{type: pass, name: A}]\n",
        "timeoutSeconds",
        3,
        "between 1 and 31536000",
    ),
    (
        "flow-timeout-over-a-year",
        "version: v1\ntype: flow\ntimeoutSeconds: 31536001\nsteps: [{type: pass, name: A}]\n",
        "timeoutSeconds",
        3,
        "between 1 and 31536000",
    ),
    (
        "flow-timeout-string",
        "version: v1\ntype: flow\ntimeoutSeconds: '10'\nsteps: [{type: pass, name: A}]\n",
        "timeoutSeconds",
        3,
        "must be an integer",
    ),
    ("not-an-object", "- a\n- b\n", "", 1, "must be an object"),
    ("not-yaml", "version: v1\nsteps: [\n", "", 3, "not valid YAML"),
    (
        "duplicate-key",
        "version: v1\nversion: v1\ntype: flow\nsteps: [{type: pass, name: A}]\n",
        "",
        2,
        'duplicate key "version"',
    ),
    (
        "non-string-key",
        "version: v1\ntype: flow\n1: x\nsteps: [{type: pass, name: A}]\n",
        "",
        3,
        "keys must be strings",
    ),
    (
        "unknown-tag",
        "version: v1\ntype: flow\nsteps: [{type: pass, name: !GetAtt A}]\n",
        "",
        3,
        'unsupported YAML tag "!GetAtt"',
    ),
    ("empty", "", "", None, "the definition is empty"),
]


@pytest.mark.parametrize(
    ("text", "path", "line", "fragment"), [c[1:] for c in TOP_CASES], ids=[c[0] for c in TOP_CASES]
)
def test_document_rule(text: str, path: str, line: int | None, fragment: str) -> None:
    found = issues(text)
    assert _has(found, path, line, fragment), "\n".join(str(i) for i in found)


def test_all_issues_are_collected_at_once_and_raised_together() -> None:
    text = steps_doc(
        """
        - type: pass
          name: A
          colour: red
        - type: wait
          name: W
        - type: choice
          name: C
          choices:
            - condition: $.x ==
              goto: Nowhere
        """
    )
    with pytest.raises(FlowValidationError) as caught:
        load_flow(text, source="flow.yaml")
    paths = [i.path for i in caught.value.issues]
    assert paths == [
        "steps[0].colour",
        "steps[1]",
        "steps[2].choices[0].condition",
        "steps[2].choices[0].goto",
    ]
    assert [i.line for i in caught.value.issues] == [6, 7, 12, 13]
    assert (
        str(caught.value).splitlines()[3]
        == 'flow.yaml:13: steps[2].choices[0].goto: no step named "Nowhere" beside "C"'
    )


def test_issue_message_format() -> None:
    issue = FlowIssue("steps[2].choices[0].goto", 'no step named "Retry" beside "CheckStatus"', 14, "flow.yaml")
    assert str(issue) == 'flow.yaml:14: steps[2].choices[0].goto: no step named "Retry" beside "CheckStatus"'


def _has(found: list[FlowIssue], path: str, line: int | None, fragment: str) -> bool:
    return any(i.path == path and i.line == line and fragment in i.message and i.source == "flow.yaml" for i in found)
