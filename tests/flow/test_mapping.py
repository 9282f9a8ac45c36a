"""The path and mapping language, and tidegate's decisions on missing paths and ``[*]``."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.flow import (
    MISSING,
    WILDCARD,
    Const,
    Mapping,
    PathSyntaxError,
    Root,
    Scope,
    apply_mappings,
    default_input,
    evaluate_params,
    evaluate_source,
    merge_local,
    parse_path,
    resolve,
)
from tidegate.flow.mapping import parse_param_source, parse_source

PARSE_CASES = [
    ("$", Root.SELF, ()),
    ("$.k", Root.SELF, ("k",)),
    ("$input", Root.INPUT, ()),
    ("$input.a[0]", Root.INPUT, ("a", 0)),
    ("$input.events[0].oss.object.key", Root.INPUT, ("events", 0, "oss", "object", "key")),
    ("$local[*].x", Root.LOCAL, (WILDCARD, "x")),
    ("$local[*].parts[*]", Root.LOCAL, (WILDCARD, "parts", WILDCARD)),
    ("$context.task.token", Root.CONTEXT, ("task", "token")),
    ("$input.key_info[-1]", Root.INPUT, ("key_info", -1)),
    ("$input['odd key'][\"q\"]", Root.INPUT, ("odd key", "q")),
    ("$.a-b_c.d1", Root.SELF, ("a-b_c", "d1")),
]


@pytest.mark.parametrize(("text", "root", "segments"), PARSE_CASES)
def test_parse_path(text: str, root: Root, segments: tuple[Any, ...]) -> None:
    path = parse_path(text)
    assert (path.root, path.segments, path.text) == (root, segments, text)
    assert path.has_wildcard == (WILDCARD in segments)


@pytest.mark.parametrize(
    "text", ["input.a", "$inputs", "$.", "$input.", "$input..a", "$input[x]", "$input[0", "$a", "$ .a"]
)
def test_bad_paths(text: str) -> None:
    with pytest.raises(PathSyntaxError):
        parse_path(text)


DOC: dict[str, Any] = {
    "a": {"b": [10, {"c": "deep"}]},
    "events": [{"oss": {"object": {"key": "k1"}}}],
    "nil": None,
}
LOCAL = [{"x": 1, "parts": [1, 2]}, {"x": 2, "parts": [3]}, {"parts": []}, "not-an-object"]
CONTEXT = {"task": {"token": "tok"}, "execution": {"name": "run1"}}
SCOPE = Scope(DOC, LOCAL, CONTEXT)

RESOLVE_CASES = [
    ("$input", DOC),
    ("$", DOC),
    ("$.a.b[0]", 10),
    ("$input.a.b[1].c", "deep"),
    ("$input.a.b[-1].c", "deep"),
    ("$input.events[0].oss.object.key", "k1"),
    ("$input.nil", None),
    ("$input.missing", MISSING),
    ("$input.a.b[5]", MISSING),
    ("$input.a.b.c", MISSING),  # a key on a list
    ("$input.a[0]", MISSING),  # an index on an object
    ("$context.task.token", "tok"),
    ("$context.execution.name", "run1"),
    ("$local[0].x", 1),
    # [*]: always a list; elements without the key contribute nothing; each further [*] flattens a level.
    ("$local[*].x", [1, 2]),
    ("$local[*].parts", [[1, 2], [3], []]),
    ("$local[*].parts[*]", [1, 2, 3]),
    ("$local[*]", LOCAL),
    ("$input.a[*]", []),  # a wildcard over an object
    ("$input.missing[*]", []),
]


@pytest.mark.parametrize(("text", "expected"), RESOLVE_CASES)
def test_resolve(text: str, expected: Any) -> None:
    assert resolve(parse_path(text), SCOPE) == expected


def test_nested_lists_flatten_one_level_per_wildcard() -> None:
    scope = Scope({"m": [[[1], [2]], [[3]]]}, {})
    assert resolve(parse_path("$input.m[*]"), scope) == [[[1], [2]], [[3]]]
    assert resolve(parse_path("$input.m[*][*]"), scope) == [[1], [2], [3]]
    assert resolve(parse_path("$input.m[*][*][*]"), scope) == [1, 2, 3]


SOURCE_CASES: list[tuple[Any, Any]] = [
    ("$input.a.b[0]", 10),
    ("$.a.b[0]", 10),  # $./$ in a mapping source read the input
    ("$", DOC),
    ("$local[*].x", [1, 2]),
    ("$context.task.token", "tok"),
    ("/", "/"),
    ("train-model", "train-model"),
    ("dummy_email@dummy_address", "dummy_email@dummy_address"),
    ("", ""),
    ("$[0]", "$[0]"),  # not one of the path forms: a constant string
    ("cost: $5", "cost: $5"),
    (50, 50),
    (-1, -1),
    (1.5, 1.5),
    (True, True),
    (None, None),
    ({}, {}),
    ([], []),
    ({"a": "b", "c": 1}, {"a": "b", "c": 1}),
    (["$input.a"], ["$input.a"]),  # paths inside constants stay text
]


@pytest.mark.parametrize(("value", "expected"), SOURCE_CASES)
def test_mapping_sources(value: Any, expected: Any) -> None:
    assert evaluate_source(parse_source(value), SCOPE) == expected


def test_a_source_that_looks_like_a_path_must_be_one() -> None:
    with pytest.raises(PathSyntaxError):
        parse_source("$input..x")


def test_constant_values_are_copies() -> None:
    source = Const({"list": [1]})
    first = evaluate_source(source, SCOPE)
    first["list"].append(2)
    assert evaluate_source(source, SCOPE) == {"list": [1]}
    resolved = evaluate_source(parse_source("$input.a"), SCOPE)
    resolved["b"].clear()
    assert DOC["a"]["b"] == [10, {"c": "deep"}]


def test_apply_mappings_omits_missing_and_keeps_literal_targets() -> None:
    mappings = [
        Mapping("present", parse_source("$input.a.b[0]")),
        Mapping("absent", parse_source("$input.nope")),
        Mapping("nil", parse_source("$input.nil")),
        Mapping("a.b", Const("dotted targets are literal keys")),
        Mapping("dup", Const(1)),
        Mapping("dup", Const(2)),
    ]
    assert apply_mappings(mappings, SCOPE) == {
        "present": 10,
        "nil": None,
        "a.b": "dotted targets are literal keys",
        "dup": 2,
    }
    assert apply_mappings([], SCOPE) == {}


def test_parallel_doc_example() -> None:
    # [D-PAR]: branch outputs {"result": "pass1"}, {"result": "pass2"}; $local[*].result → a list.
    scope = Scope({}, [{"result": "pass1"}, {"result": "pass2"}])
    assert apply_mappings([Mapping("result", parse_source("$local[*].result"))], scope) == {
        "result": ["pass1", "pass2"]
    }


def test_service_params() -> None:
    params = (
        ("MessageBody", parse_param_source("$")),
        ("Tag", parse_param_source("$.tag")),
        ("Missing", parse_param_source("$.nope")),
        ("Priority", parse_param_source(8)),
        ("Side", parse_param_source("face")),
        ("Attrs", parse_param_source({"x": "$.tag"})),
    )
    step_input = {"tag": "t", "body": 1}
    assert evaluate_params(params, Scope(step_input, {})) == {
        "MessageBody": step_input,
        "Tag": "t",
        "Priority": 8,
        "Side": "face",
        "Attrs": {"x": "$.tag"},
    }


def test_default_input_merges_parent_input_and_local_local_wins() -> None:
    assert default_input({"a": 1, "b": 1}, {"b": 2, "c": 3}) == {"a": 1, "b": 2, "c": 3}
    assert default_input({"a": 1}, [{"x": 1}]) == {"a": 1}  # type: ignore[arg-type]
    parent = {"a": {"deep": 1}}
    merged = default_input(parent, {})
    assert merged == parent and merged is not parent


def test_merge_local_is_shallow_and_later_wins() -> None:
    local = {"a": {"x": 1}, "b": 1}
    assert merge_local(local, {"a": {"y": 2}, "c": 3}) == {"a": {"y": 2}, "b": 1, "c": 3}
    assert local == {"a": {"x": 1}, "b": 1}
