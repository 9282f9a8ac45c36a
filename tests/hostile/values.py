"""Hypothesis strategies for hostile values, and the known bad inputs every protocol must survive."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

#: JSON text nested 5,000 deep (``RecursionError`` in a recursive parser).
DEEP_JSON = "[" * 5000 + "]" * 5000
DEEP_OBJECT = '{"a":' * 5000 + "1" + "}" * 5000
#: A lone surrogate as a JSON escape: valid JSON text, but no UTF-8 string can hold the value.
LONE_SURROGATE = '{"a":"\\ud800"}'
#: Not RFC 8259 JSON, though Python's json module reads and writes it.
NAN_INFINITY = '{"a": NaN, "b": Infinity, "c": -Infinity}'
#: An integer above Python's 4,300-digit str<->int limit, and one no 64-bit column holds.
HUGE_INT = '{"a": ' + "9" * 5000 + "}"
BIG_INT = '{"a": 99999999999999999999999}'
#: A string with C0 control characters (valid JSON, not valid XML 1.0 text).
CONTROL_TEXT = '{"text": "bad\\u0001body\\u0002"}'

KNOWN_BAD_JSON = [DEEP_JSON, DEEP_OBJECT, LONE_SURROGATE, NAN_INFINITY, HUGE_INT, BIG_INT, CONTROL_TEXT]

NASTY_TEXT = [
    "",
    " ",
    "-1",
    "0",
    "1001",
    "9" * 40,
    "99999999999999999999999",
    "1e11",
    "1.5",
    "NaN",
    "Infinity",
    "abc",
    "../etc",
    "a/b",
    "a%2Fb",
    "a\x00b",
    "é",
    "<script>alert(1)</script>",
    "'; DROP TABLE flows; --",
    "{",
    "[]",
    "null",
    "bad\x01",
    "\ufffe",
    "x" * 5000,
    LONE_SURROGATE,
    NAN_INFINITY,
]


def utf8_ok(text: str) -> bool:
    """Whether ``text`` can be sent at all (a lone surrogate cannot be encoded as UTF-8)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


utf8_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)
hostile_text = st.one_of(utf8_text, st.sampled_from(NASTY_TEXT))
int_text = st.one_of(st.integers(-(2**70), 2**70).map(str), st.sampled_from(["-1", "0", "1", "1000", "1001", "9" * 40]))

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),  # includes lone surrogates and control characters
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)
#: JSON text as a client might send it: objects, other values, Python's non-standard NaN, or junk.
json_text = st.one_of(
    json_objects.map(json.dumps),
    json_values.map(json.dumps),
    json_objects.map(lambda v: json.dumps(v, ensure_ascii=False)).filter(utf8_ok),
    st.sampled_from(KNOWN_BAD_JSON),
    hostile_text,
)
