"""Hostile or unusual input: size, depth, alias bombs, JSON, tags, CloudFlow, files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.flow.helpers import issues, steps_doc
from tidegate.errors import FlowValidationError, UnsupportedFlowSyntax
from tidegate.flow import PassStep, TaskStep, load_flow, load_flow_file, validate_flow


def _single(text: str, fragment: str) -> None:
    found = validate_flow(text, source="f")
    assert len(found) == 1 and fragment in found[0].message, found


def test_documents_over_one_mebibyte_are_refused() -> None:
    text = steps_doc("- {type: pass, name: A}") + "#" + "x" * (1024 * 1024)
    _single(text, "larger than 1048576 bytes")


def test_deep_nesting_is_an_issue_not_a_recursion_error() -> None:
    _single("a: " + "[" * 100 + "]" * 100, "nests more than 64 levels")
    _single("[" * 100_000, "nests more than 64 levels")  # the composer's own recursion is caught too
    _single('{"a": ' * 5000 + "1" + "}" * 5000, "nests more than 64 levels")


def test_alias_bombs_are_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(10))}]" for i in range(1, 9)]
    _single("\n".join(lines) + "\n", "more than 100000 values")


def test_aliases_and_merge_keys_are_allowed() -> None:
    f = load_flow("version: v1\ntype: flow\nsteps:\n  - &base {type: pass, name: A}\n  - <<: *base\n    name: B\n")
    assert [s.name for s in f.steps] == ["A", "B"]


def test_json_that_is_not_yaml_still_loads() -> None:
    text = '{\t"version": "v1", "type": "flow", "steps": [{"type": "pass", "name": "A\\/B"}]}'
    found = validate_flow(text)
    assert [i.path for i in found] == ["steps[0].name"]  # parsed (as JSON), then validated
    assert found[0].line is None


def test_ref_tags() -> None:
    f = load_flow(steps_doc("- type: task\n  name: T\n  resourceArn: !Ref Svc/fn-1"))
    assert isinstance(f.steps[0], TaskStep) and f.steps[0].resource.text == "acs:fc:::services/Svc/functions/fn-1"


def test_yaml_timestamps_stay_strings_and_yaml_booleans_are_booleans() -> None:
    f = load_flow(
        steps_doc("- type: pass\n  name: A\n  outputMappings:\n    - {target: t, source: 2019-05-02T15:04:05Z}")
    )
    step = f.steps[0]
    assert isinstance(step, PassStep) and step.output_mappings is not None
    assert step.output_mappings[0].source.value == "2019-05-02T15:04:05Z"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "Type: StateMachine\nSpecVersion: v1\nName: f\nStartAt: A\n"
        "States:\n  - Type: Pass\n    Name: A\n    End: true\n",
        '{"Type": "StateMachine", "Name": "f", "States": []}',
    ],
)
def test_cloudflow_is_recognised_and_refused(text: str) -> None:
    with pytest.raises(UnsupportedFlowSyntax, match=r"CloudFlow syntax .* is not supported.*FDL"):
        load_flow(text)
    (issue,) = validate_flow(text, source="cf.yaml")
    assert "CloudFlow" in issue.message and issue.source == "cf.yaml"


def test_multiple_documents_are_refused() -> None:
    found = issues(steps_doc("- {type: pass, name: A}") + "---\nversion: v1\n")
    assert found and "not valid YAML" in found[0].message


def test_load_flow_file(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(steps_doc("- {type: pass, name: A}\n- {type: pass, name: 1}"), encoding="utf-8")
    with pytest.raises(FlowValidationError) as caught:
        load_flow_file(path)
    assert str(caught.value) == f"{path}:5: steps[1].name: must be a string, not a number"
    path.write_text(steps_doc("- {type: pass, name: A}"), encoding="utf-8")
    assert load_flow_file(path).source == str(path)
    with pytest.raises(FlowValidationError, match="cannot read the file"):
        load_flow_file(tmp_path / "missing.yaml")
