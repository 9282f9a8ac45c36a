"""The REST API (``/api/v1``) and the console's JSON API under generated and known-bad bodies and queries."""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile.harness import PASS_FLOW, Hostile, Protocol, hostile_settings, q
from tests.hostile.values import (
    CONTROL_TEXT,
    DEEP_JSON,
    DEEP_OBJECT,
    HUGE_INT,
    LONE_SURROGATE,
    NAN_INFINITY,
    hostile_text,
    int_text,
    json_objects,
    json_text,
    json_values,
)

REST_PATHS = [
    ("POST", "/flows"),
    ("GET", "/flows"),
    ("GET", "/flows/hf"),
    ("PATCH", "/flows/hf"),
    ("GET", "/flows/hf/executions"),
    ("POST", "/flows/hf/executions"),
    ("GET", "/flows/hf/executions/e1"),
    ("POST", "/flows/hf/executions/e1/stop"),
    ("GET", "/flows/hf/executions/e1/history"),
    ("GET", "/flows/hf/schedules"),
    ("POST", "/flows/hf/schedules"),
    ("POST", "/tasks/succeeded"),
    ("POST", "/tasks/failed"),
]
CONSOLE_PATHS = [
    ("GET", "/flows"),
    ("GET", "/flows/hf"),
    ("GET", "/flows/hf/executions"),
    ("POST", "/flows/hf/executions"),
    ("GET", "/flows/hf/executions/e1"),
    ("GET", "/flows/hf/executions/e1/progress"),
    ("GET", "/flows/hf/executions/e1/steps"),
    ("POST", "/flows/hf/executions/e1/stop"),
    ("GET", "/queues"),
    ("GET", "/queues/hq"),
    ("POST", "/queues/hq/messages"),
    ("GET", "/topics"),
    ("GET", "/topics/ht"),
    ("POST", "/topics/ht/messages"),
    ("GET", "/schedules"),
]
waits = st.sampled_from(["", "0", "-1", "61", "1e11", "abc", "9" * 40])
QUERY = {
    "limit": int_text,
    "next_token": hostile_text,
    "wait": waits,
    "status": st.one_of(st.sampled_from(["Running", "Succeeded", "Sleeping"]), hostile_text),
    "name_prefix": hostile_text,
    "prefix": hostile_text,
    "started_after": hostile_text,
    "started_before": hostile_text,
    "from": int_text,
    "to": int_text,
    "after": int_text,
    "path": hostile_text,
    "q": hostile_text,
}
FIELDS = [
    "name",
    "definition",
    "description",
    "type",
    "role_arn",
    "input",
    "output",
    "token",
    "error",
    "cause",
    "callback_token",
    "cron",
    "payload",
    "enable",
    "body",
    "tag",
    "x",
]
body_docs = st.dictionaries(st.sampled_from(FIELDS), st.one_of(json_values, hostile_text, json_objects), max_size=4)
raw_bodies = st.one_of(
    body_docs.map(lambda d: json.dumps(d).encode()),
    json_text.map(lambda t: t.encode()),
    st.binary(max_size=100),
    st.sampled_from([x.encode() for x in (DEEP_JSON, DEEP_OBJECT, LONE_SURROGATE, NAN_INFINITY, HUGE_INT)]),
)
queries = st.dictionaries(st.sampled_from(sorted(QUERY)), st.just(None), max_size=3).flatmap(
    lambda keys: st.fixed_dictionaries({k: QUERY[k] for k in keys})
)


def prepare(h: Hostile) -> None:
    """Flow ``hf`` with execution ``e1``, queue ``hq`` and topic ``ht``."""
    assert h.rest("POST", "/flows", json={"name": "hf", "definition": PASS_FLOW}).status_code == 201
    assert h.rest("POST", "/flows/hf/executions", json={"name": "e1", "input": {}}).status_code == 201
    assert h.mns("PUT", "/queues/hq").status_code == 201
    assert h.mns("PUT", "/topics/ht").status_code == 201


def once(h: Hostile) -> None:
    if not h.prepared:
        prepare(h)
        h.prepared = True


def sweep(h: Hostile, what: object) -> None:
    """The queue stays readable whatever was sent to it (MNS never answers 500 for a stored message)."""
    for query in ("peekonly=true&numOfMessages=16", "numOfMessages=16&waitseconds=0"):
        h.check(h.mns("GET", "/queues/hq/messages", query=query), Protocol.MNS, ("sweep", query, what))


def query_string(query: dict[str, str]) -> str:
    return "&".join(f"{k}={v if k == 'wait' else q(v)}" for k, v in query.items())


@hostile_settings(80)
@given(route=st.sampled_from(REST_PATHS), query=queries, body=raw_bodies)
@example(route=("POST", "/flows"), query={}, body=json.dumps({"name": "deep", "definition": DEEP_JSON}).encode())
@example(route=("POST", "/flows"), query={}, body=DEEP_OBJECT.encode())
@example(route=("POST", "/flows/hf/executions"), query={}, body=('{"input":' + DEEP_OBJECT + "}").encode())
@example(route=("POST", "/flows/hf/executions"), query={}, body=('{"input":' + LONE_SURROGATE + "}").encode())
@example(route=("POST", "/flows/hf/executions"), query={}, body=('{"input":' + NAN_INFINITY + "}").encode())
@example(route=("GET", "/flows/hf/executions"), query={"limit": "9" * 40}, body=b"")
def test_rest(hostile: Hostile, route: tuple[str, str], query: dict[str, str], body: bytes) -> None:
    once(hostile)
    method, path = route
    qs = query_string(query)
    target = path + (f"?{qs}" if qs else "")
    content = body if method in ("POST", "PATCH") else None
    r = hostile.rest(method, target, content=content, headers={"content-type": "application/json"})
    hostile.check(r, Protocol.REST, (method, target, body[:300]))


@hostile_settings(80)
@given(route=st.sampled_from(CONSOLE_PATHS), query=queries, body=raw_bodies)
@example(route=("POST", "/queues/hq/messages"), query={}, body=b'{"body": "bad\\u0001"}')
@example(route=("POST", "/topics/ht/messages"), query={}, body=b'{"body": "topic\\u0003body"}')
@example(route=("GET", "/flows/hf/executions"), query={"from": "99999999999999999999999"}, body=b"")
@example(route=("POST", "/flows/hf/executions"), query={}, body=('{"input":' + DEEP_OBJECT + "}").encode())
@example(route=("POST", "/flows/hf/executions"), query={}, body=('{"input":' + CONTROL_TEXT + "}").encode())
def test_console(hostile: Hostile, route: tuple[str, str], query: dict[str, str], body: bytes) -> None:
    once(hostile)
    method, path = route
    qs = query_string(query)
    target = path + (f"?{qs}" if qs else "")
    content = body if method in ("POST", "PATCH") else None
    r = hostile.console(method, target, content=content, headers={"content-type": "application/json"})
    hostile.check(r, Protocol.CONSOLE, (method, target, body[:300]))
    sweep(hostile, (method, target, body[:300]))
