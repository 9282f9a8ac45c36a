"""Property tests: the loader only ever raises FlowError subclasses; conditions never crash."""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.flow.helpers import corpus_files, substitute
from tidegate.errors import FlowError
from tidegate.flow import ConditionSyntaxError, load_flow, parse_condition, validate_flow

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VOCAB = [
    "version",
    "type",
    "steps",
    "name",
    "end",
    "inputMappings",
    "outputMappings",
    "timeoutSeconds",
    "resourceArn",
    "action",
    "pattern",
    "serviceParams",
    "errorMappings",
    "retry",
    "catch",
    "errors",
    "goto",
    "duration",
    "timestamp",
    "choices",
    "condition",
    "default",
    "branches",
    "iterationMapping",
    "collection",
    "item",
    "index",
    "error",
    "cause",
    "target",
    "source",
    "intervalSeconds",
    "maxAttempts",
    "multiplier",
    "Type",
]
WORDS = [
    "v1",
    "v1beta1",
    "flow",
    "task",
    "pass",
    "wait",
    "choice",
    "parallel",
    "foreach",
    "succeed",
    "fail",
    "loop",
    "sync",
    "$",
    "$.a",
    "$input.a[0]",
    "$local[*].x",
    "$context.task.token",
    "$..",
    "acs:fc:::services/S/functions/F",
    "acs:fnf:::flow/f",
    "fnf:StartExecution",
    "A",
    "B",
    "$.a == 1",
    "$.a &&",
    "2019-05-02T15:04:05Z",
    "StateMachine",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(WORDS),
)
json_docs = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(VOCAB) | st.text(max_size=5), children, max_size=5)
    ),
    max_leaves=40,
)


def _only_flow_errors(text: str) -> None:
    try:
        load_flow(text)
    except FlowError:
        pass
    assert all(isinstance(i.message, str) for i in validate_flow(text))


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _only_flow_errors(text)


@SETTINGS
@given(json_docs)
def test_arbitrary_json_and_yaml_documents(doc: Any) -> None:
    _only_flow_errors(json.dumps(doc))
    _only_flow_errors(yaml.safe_dump(doc))


@SETTINGS
@given(
    st.lists(st.dictionaries(st.sampled_from(VOCAB), json_docs, max_size=6), max_size=4),
    st.sampled_from(WORDS),
)
def test_flow_shaped_documents(steps: list[dict[str, Any]], version: str) -> None:
    _only_flow_errors(json.dumps({"version": version, "type": "flow", "steps": steps}))


_CORPUS_TEXT = [substitute(p.read_text(encoding="utf-8")) for p in corpus_files()]


@SETTINGS
@given(st.sampled_from(_CORPUS_TEXT), st.data())
def test_mutated_corpus_flows(text: str, data: st.DataObject) -> None:
    lines = text.splitlines()
    i = data.draw(st.integers(0, len(lines) - 1))
    lines[i] = data.draw(st.text(max_size=30) | st.sampled_from([f"  {k}: {w}" for k in VOCAB[:8] for w in WORDS[:6]]))
    _only_flow_errors("\n".join(lines))


CONDITIONS = [
    '$.status == "succeeded"',
    "$.hasMore",
    "!$.a",
    "$.a < $.b",
    "$.a >= 4000 || $.b != -1",
    '$.end == "true"',
    "$.x[0].y <= 0.5",
    "($.a && $.b) || !$.c",
    "$.a == null",
    "$.a == $.b",
    "$ == $.a",
    "$.l[*] == $.m",
]


@SETTINGS
@given(st.sampled_from(CONDITIONS), json_docs)
def test_conditions_never_crash(text: str, doc: Any) -> None:
    assert parse_condition(text).evaluate(doc) in (True, False)


@SETTINGS
@given(
    st.sampled_from(CONDITIONS),
    st.dictionaries(st.sampled_from(["a", "b", "c", "l", "m", "x", "status", "end"]), json_docs),
)
def test_conditions_never_crash_on_matching_keys(text: str, doc: dict[str, Any]) -> None:
    assert parse_condition(text).evaluate(doc) in (True, False)


@SETTINGS
@given(st.text(alphabet="$.ab01[]*()!=<>&|\"' -", max_size=40))
def test_condition_parser_only_raises_syntax_errors(text: str) -> None:
    try:
        cond = parse_condition(text)
    except ConditionSyntaxError:
        return
    assert cond.evaluate({"a": 1, "b": [1]}) in (True, False)
