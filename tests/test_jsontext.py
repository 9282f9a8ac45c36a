"""The strict JSON reader (tidegate.jsontext.parse / check_value / check_text), with property tests."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidegate.errors import TidegateError
from tidegate.jsontext import MAX_DEPTH, JsonTextError, check_text, check_value, compact, parse

# Valid JSON data: strings without surrogates (hypothesis' default alphabet), finite floats.
_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_data = st.recursive(
    _leaf, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30
)


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


@settings(max_examples=300, deadline=None)
@given(json_data, st.booleans())
def test_accepts_what_a_strict_writer_produces(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, allow_nan=False, ensure_ascii=ascii_only)
    assert parse(text) == value
    assert parse(text.encode()) == value
    assert check_value(value, "v") is value


_TOKENS = [
    "[",
    "]",
    "{",
    "}",
    '"',
    "\\",
    "\\ud800",
    "\\udc00",
    "\ud800",
    "\\u",
    "NaN",
    "-Infinity",
    "1e400",
    ":",
    ",",
    "1",
    "-0.5e3",
    "a",
    "true",
    "null",
    " ",
    "\n",
    "\x00",
    "é",
    "😀",
    "[" * 70,
    "]" * 70,
]
texts = st.text(alphabet=st.characters(codec=None, categories=None), max_size=60) | st.lists(
    st.sampled_from(_TOKENS), max_size=40
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(texts)
def test_any_text_is_read_or_refused_with_the_one_error(text: str) -> None:
    try:
        value = parse(text)
    except JsonTextError as exc:
        assert exc.code == "InvalidArgument" and exc.message.encode("utf-8")  # a storable message
    except Exception as exc:  # pragma: no cover - the property under test
        pytest.fail(f"{type(exc).__name__}: {exc}")
    else:  # what is accepted can be stored and written back as strict JSON
        assert json.loads(compact(value).encode("utf-8")) == value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_any_bytes_are_read_or_refused_with_the_one_error(data: bytes) -> None:
    try:
        parse(data)
    except JsonTextError:
        pass


@settings(max_examples=200, deadline=None)
@given(json_data, st.sampled_from(['"\\ud800"', '"a\\udfff"', '"\\ude00\\ud83d"', '"\\ud83dx"', "NaN", "Infinity"]))
def test_a_bad_token_anywhere_is_refused(value: Any, bad: str) -> None:
    text = json.dumps({"good": value, "bad": [json.loads("0"), "__BAD__"]}).replace('"__BAD__"', bad)
    with pytest.raises(JsonTextError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a":"\\ud800"}', "lone UTF-16 surrogate at $.a"),
        ('{"x":[{"\\udc00":1}]}', "lone UTF-16 surrogate at $.x[0] (a key)"),
        ('{"a":"\ud800"}', "lone UTF-16 surrogate at $.a"),  # a raw one in a str
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"b": Infinity}', "Infinity is not a JSON number"),
        ("[-Infinity]", "-Infinity is not a JSON number"),
        ("[1e400]", "the number 1e400 is out of range"),
        ("[-1E+999]", "out of range"),
        ("[" + "1" * 5000 + "]", "more than 4300 digits"),
        ("[" * 5000 + "]" * 5000, f"nested deeper than {MAX_DEPTH} levels"),
        ("[" * 5000, f"nested deeper than {MAX_DEPTH} levels"),  # unclosed: the decoder would recurse too
        ('{"a": 1,}', "line 1 column 9"),
        ("\ufeff{}", "not valid JSON"),
    ],
)
def test_refusals_name_what_and_where(text: str, expected: str) -> None:
    with pytest.raises(JsonTextError) as info:
        parse(text, "the execution input")
    assert expected in info.value.message and info.value.message.startswith("the execution input ")
    assert isinstance(info.value, TidegateError)


def test_depth_limit_is_exact_and_strings_do_not_count() -> None:
    assert parse(compact(nested(MAX_DEPTH))) == nested(MAX_DEPTH)
    with pytest.raises(JsonTextError, match="nested deeper"):
        parse(compact(nested(MAX_DEPTH + 1)))
    assert parse(compact(nested(MAX_DEPTH + 1)), max_depth=MAX_DEPTH + 1) == nested(MAX_DEPTH + 1)
    brackets = {"s": "[{" * 10_000 + '\\"' + "]}" * 10}  # brackets and escaped quotes inside a string
    assert parse(json.dumps(brackets)) == brackets
    many = [[1, [2]]] * 10_000  # many brackets, shallow
    assert parse(json.dumps(many)) == many


def test_surrogate_pairs_are_one_character() -> None:
    assert parse('{"a":"\\ud83d\\ude00"}') == {"a": "😀"}
    assert parse(b'{"a":"\xf0\x9f\x98\x80"}') == {"a": "😀"}
    assert parse('"\\\\ud800"') == "\\ud800"  # an escaped backslash, not a surrogate


def test_bytes_must_be_utf8() -> None:
    with pytest.raises(JsonTextError, match="not UTF-8"):
        parse(b'{"a":"\xed\xa0\x80"}')  # the UTF-8-like encoding of a surrogate
    with pytest.raises(JsonTextError, match="not UTF-8"):
        parse('{"a":1}'.encode("utf-16"))


def test_check_value_for_values_built_elsewhere() -> None:
    assert check_value({"a": [1, 2.5, None, True, "x"]}, "payload") == {"a": [1, 2.5, None, True, "x"]}
    for bad, message in [
        ({"a": float("nan")}, "nan at $.a"),
        ({"a": [float("inf")]}, "inf at $.a[0]"),
        ({1: "x"}, "key that is not a string"),
        ({"a": {1, 2}}, "holds a set at $.a"),
        ({"a": "\udc80"}, "surrogate at $.a"),
        (nested(MAX_DEPTH + 1), "nested deeper"),
    ]:
        with pytest.raises(JsonTextError, match=message.replace("[", r"\[").replace("$", r"\$")):
            check_value(bad, "payload")
    assert check_value(nested(MAX_DEPTH), "payload") == nested(MAX_DEPTH)


def test_check_text() -> None:
    assert check_text("fine é 😀", "the cause") == "fine é 😀"
    with pytest.raises(JsonTextError, match="the cause holds a lone UTF-16 surrogate at character 3"):
        check_text("abc\ud800", "the cause")


def test_check_text_refuses_nul() -> None:
    with pytest.raises(JsonTextError, match="the description holds a NUL character at character 2"):
        check_text("ab\x00", "the description")
    assert parse('"a\\u0000b"') == "a\x00b"  # in JSON, NUL is an escape: the writer keeps it one
    assert compact("a\x00b") == '"a\\u0000b"'


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth_of, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth_of, value), default=0)
    return 0


_tricky = st.text(alphabet=st.sampled_from(['"', "\\", "[", "]", "{", "}", "a", "é", "\n"]), max_size=12)
tricky_data = st.recursive(
    st.none() | st.integers() | _tricky,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_tricky, inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=500, deadline=None)
@given(tricky_data, st.booleans())
def test_the_depth_limit_is_exact_whatever_the_strings_hold(value: Any, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    depth = depth_of(value)
    assert parse(text, max_depth=depth) == value
    if depth:
        with pytest.raises(JsonTextError, match="nested deeper"):
            parse(text, max_depth=depth - 1)
