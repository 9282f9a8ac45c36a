"""Conditions: every form parses to an AST, and evaluation follows docs/flow-language.md."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.flow import ConditionSyntaxError, parse_condition
from tidegate.flow.conditions import BoolOp, Compare, Literal, Not, PathRef

CASES: list[tuple[str, dict[str, Any], bool]] = [
    # comparisons with literals of every type
    ('$.status == "succeeded"', {"status": "succeeded"}, True),
    ('$.status == "succeeded"', {"status": "failed"}, False),
    ("$.status == 'single'", {"status": "single"}, True),
    ('$.marker != ""', {"marker": "m"}, True),
    ('$.marker != ""', {"marker": ""}, False),
    ("$.offset_bytes != -1", {"offset_bytes": -1}, False),
    ("$.offset_bytes != -1", {"offset_bytes": 5}, True),
    ("$.faceCount <= 0", {"faceCount": 0}, True),
    ("$.event_id >= 4000", {"event_id": 4000}, True),
    ("$.event_id > 4000", {"event_id": 4000}, False),
    ("$.n < 1.5", {"n": 1}, True),
    ("$.n == 1", {"n": 1.0}, True),  # numbers compare numerically
    ("$.n == 1e3", {"n": 1000}, True),
    ("$.v == null", {"v": None}, True),
    ("$.v == true", {"v": True}, True),
    ("$.v == false", {"v": 0}, False),  # false is not 0
    ("$.v == 1", {"v": True}, False),  # true is not 1
    # path vs path, nested paths, indexes, no spaces
    ("$.faceIndex < $.faceCount", {"faceIndex": 0, "faceCount": 2}, True),
    ("$.detectFaceData.FaceCount == 0", {"detectFaceData": {"FaceCount": 0}}, True),
    ("$.items[1] == 'b'", {"items": ["a", "b"]}, True),
    ("$.key1==$.key2", {"key1": "value1", "key2": "value2"}, False),
    ('$.key=="process_failed"', {"key": "process_failed"}, True),
    ("$.a == $.b", {"a": [1, {"x": 2}], "b": [1.0, {"x": 2}]}, True),
    ("$.a == $.b", {"a": {"x": 1}, "b": {"x": 1, "y": 2}}, False),
    # bare paths: truthiness
    ("$.hasMore", {"hasMore": True}, True),
    ("$.hasMore", {"hasMore": False}, False),
    ("$.hasMore", {}, False),
    ("$.v", {"v": 0}, False),
    ("$.v", {"v": 2}, True),
    ("$.v", {"v": ""}, False),
    ("$.v", {"v": []}, False),
    ("$.v", {"v": {"a": 1}}, True),
    ("$.v", {"v": None}, False),
    ("$", {"a": 1}, True),
    # boolean operators, precedence and parentheses
    (
        "$.has_more && $.total_group_count >= $.total_group_threshold",
        {"has_more": True, "total_group_count": 5, "total_group_threshold": 5},
        True,
    ),
    (
        "$.has_more && ($.event_id >= 4000 || $.total_group_count >= $.total_group_threshold)",
        {"has_more": True, "event_id": 4001, "total_group_count": 0, "total_group_threshold": 5},
        True,
    ),
    (
        "$.has_more && ($.event_id >= 4000 || $.total_group_count >= $.total_group_threshold)",
        {"has_more": False, "event_id": 4001},
        False,
    ),
    ("$.a || $.b && $.c", {"a": True, "b": False, "c": False}, True),  # && binds tighter than ||
    ("($.a || $.b) && $.c", {"a": True, "b": False, "c": False}, False),
    ("!$.a", {"a": False}, True),
    ("!$.a", {}, True),
    ("!($.a == 1)", {"a": 2}, True),
    ("!!$.a", {"a": 3}, True),
    ("true", {}, True),
    ("null", {}, False),
    # loose bool/"true" equality (the corpus quirk, docs/flow-language.md)
    ('$.end == "true"', {"end": True}, True),
    ('$.audited == "true"', {"audited": False}, False),
    ('$.audited == "TRUE"', {"audited": True}, True),
    ('$.flag == "false"', {"flag": False}, True),
    ('"true" == $.flag', {"flag": True}, True),
    ('$.flag != "true"', {"flag": True}, False),
    # a missing path makes any comparison false, != included
    ('$.nope == "x"', {}, False),
    ('$.nope != "x"', {}, False),
    ("$.nope == null", {}, False),
    ("$.nope < 1", {}, False),
    # ordering: numbers numerically, strings lexicographically, other mixes false
    ('$.s < "b"', {"s": "a"}, True),
    ('$.s > "b"', {"s": "ab"}, False),
    ("$.s > 1", {"s": "2"}, False),
    ("$.s >= 1", {"s": True}, False),
    ("$.l < 1", {"l": [0]}, False),
]


@pytest.mark.parametrize(("text", "doc", "expected"), CASES)
def test_condition_semantics(text: str, doc: dict[str, Any], expected: bool) -> None:
    assert parse_condition(text).evaluate(doc) is expected


def test_conditions_are_parsed_to_an_ast() -> None:
    cond = parse_condition('!($.a == "x") && ($.b || $.c > 1)')
    assert isinstance(cond.node, BoolOp) and cond.node.op == "&&"
    left, right = cond.node.operands
    assert isinstance(left, Not) and isinstance(left.operand, Compare)
    assert isinstance(left.operand.left, PathRef) and left.operand.right == Literal("x")
    assert isinstance(right, BoolOp) and right.op == "||"
    assert str(cond) == '!($.a == "x") && ($.b || $.c > 1)'


def test_string_escapes() -> None:
    assert parse_condition(r'$.s == "a\"b\n"').evaluate({"s": 'a"b\n'}) is True
    assert parse_condition(r"$.s == 'it\'s \"x\"'").evaluate({"s": 'it\'s "x"'}) is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "$.a ==",
        "$.a = 1",
        "$.a === 1",
        "($.a",
        "$.a)",
        "$.a == 1 == 2",
        "$.a && || $.b",
        "$input.a == 1",
        "$local.a",
        "yes",
        "$.a == 'unterminated",
        "$.a =~ 'x'",
        "$.a + 1 > 2",
        "(" * 70 + "$.a" + ")" * 70,
        "!" * 100 + "$.a",
        "$.a == " + "1" * 5000,
    ],
)
def test_syntax_errors(text: str) -> None:
    with pytest.raises(ConditionSyntaxError):
        parse_condition(text)


def test_moderate_nesting_is_fine() -> None:
    assert parse_condition("(" * 30 + "$.a" + ")" * 30).evaluate({"a": 1}) is True


def test_deep_documents_do_not_crash_equality() -> None:
    deep: Any = 1
    for _ in range(5000):
        deep = [deep]
    assert parse_condition("$.a == $.b").evaluate({"a": deep, "b": deep}) is True
