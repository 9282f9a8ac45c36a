"""The REST API driven from its own OpenAPI document (``/api/v1/openapi.json``) by schemathesis.

Each operation of the document gets generated path parameters, queries and bodies, both valid for the
schema (positive) and invalid (negative), sent with the root key; every answer must keep the suite's
invariants (no 5xx, ``{code, message, request_id}`` errors, no traceback, ``/healthz`` answering).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given
from hypothesis import strategies as st
from schemathesis import GenerationMode

from tests.hostile.harness import KEY_ID, PASS_FLOW, SECRET, Hostile, Protocol, hostile_settings


def operations(h: Hostile) -> list[Any]:
    doc = httpx.get(h.srv.url + "/api/v1/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(doc)
    return [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_every_operation_of_the_openapi_document(hostile: Hostile, mode: GenerationMode) -> None:
    assert hostile.rest("POST", "/flows", json={"name": "hf", "definition": PASS_FLOW}).status_code == 201
    ops = operations(hostile)
    assert len(ops) >= 10, [op.label for op in ops]
    base = hostile.srv.url  # the paths of the document start with /api/v1

    for op in ops:
        exercise(hostile, base, op.label, op.as_strategy(generation_mode=mode))


def exercise(hostile: Hostile, base: str, label: str, strategy: Any) -> None:
    """Send generated cases of one operation and check each answer."""

    @hostile_settings(15)
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        case = data.draw(strategy)
        kw = case.as_transport_kwargs(base_url=base)
        kw.pop("timeout", None)
        headers = dict(kw.pop("headers", {}) or {})
        headers.pop("Authorization", None)
        # "wait" long-polls for up to 60 s when valid: keep generated waits short
        params = kw.pop("params", None) or {}
        if "wait" in params:
            params["wait"] = "0"
        body: dict[str, Any] = {}
        if "json" in kw:
            body["json"] = kw.pop("json")
        elif "data" in kw:
            body["content"] = kw.pop("data")
        r = hostile.http.request(
            kw.pop("method"), kw.pop("url"), params=params, headers=headers, auth=(KEY_ID, SECRET), **body
        )
        hostile.check(r, Protocol.REST, (label, params, body))

    run()
