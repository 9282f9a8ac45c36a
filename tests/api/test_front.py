"""The front door: which requests go to the RPC and MNS endpoints, and what the rest gets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.server import ServerProcess, raw_request
from tidegate.api.front import is_rpc_call
from tidegate.api.proxy import origin_form_scope


def scope(method: str, query: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": "/", "query_string": query, "headers": headers or []}


@pytest.mark.parametrize(
    ("request_scope", "expected"),
    [
        (scope("POST"), True),
        (scope("GET", b"Action=ListFlows&Version=2019-03-15"), True),
        (scope("GET", b"Version=1&Signature=x"), True),
        (scope("GET", b"Act%69on=ListFlows"), True),  # keys are compared decoded
        (scope("GET", headers=[(b"x-acs-action", b"ListFlows")]), True),
        (scope("GET", headers=[(b"authorization", b"ACS3-HMAC-SHA256 x")]), True),
        (scope("GET"), False),
        (scope("GET", b"utm_source=mail&Actions=1"), False),
        (scope("HEAD", b"lang=en"), False),
    ],
)
def test_is_rpc_call(request_scope: dict[str, Any], expected: bool) -> None:
    assert is_rpc_call(request_scope) is expected


def test_origin_form_scope() -> None:
    plain = {"path": "/queues/q", "raw_path": b"/queues/q"}
    assert origin_form_scope(plain) is plain
    absolute = {"path": "http://h/queues/a%20b", "raw_path": b"http://h/queues/a%20b", "method": "GET"}
    rewritten = origin_form_scope(absolute)
    assert rewritten["raw_path"] == b"/queues/a%20b" and rewritten["path"] == "/queues/a b"
    assert rewritten["method"] == "GET" and absolute["path"] == "http://h/queues/a%20b"  # the original is kept


def test_mns_resource_with_another_method_is_an_mns_error(server: ServerProcess) -> None:
    r = httpx.delete(f"{server.url}/queues", headers={"x-mns-version": "2015-06-06"})
    assert r.status_code == 405
    assert "<Code>MethodNotAllowed</Code>" in r.text and "<RequestId>" in r.text
    assert r.headers["x-mns-request-id"]
    assert len(r.headers.get_list("date")) == 1 and r.headers.get_list("server") == ["tidegate"]


def test_paths_in_the_mns_namespace_that_name_no_resource_answer_in_mns_xml(server: ServerProcess) -> None:
    for path in ("/queues/q/unknown", "/queues//messages", "/queues/", "/topics/t/subscriptions/s/x"):
        r = httpx.get(f"{server.url}{path}")  # a name is never empty; no resource has these segments
        assert r.status_code == 404, path
        assert "<Code>ResourceNotExist</Code>" in r.text and "<RequestId>" in r.text, path
    assert httpx.put(f"{server.url}/", content=b"x").status_code == 405  # `/` is GET (console) or RPC


def test_an_error_message_echoing_what_xml_cannot_carry_still_renders(server: ServerProcess) -> None:
    # The method is wrong and the name holds U+001F: the message repeats the path, escaped.
    r = httpx.post(f"{server.url}/queues/%1F", headers={"x-mns-version": "2015-06-06"})
    assert r.status_code == 405 and "<Code>MethodNotAllowed</Code>" in r.text
    assert "\\u001f" in r.text
    assert "Traceback" not in server.log()


def test_an_unknown_rest_path_answers_the_rest_error_document(server: ServerProcess) -> None:
    for method in ("GET", "POST", "DELETE"):
        r = httpx.request(method, f"{server.url}/api/v1/no/such/thing")
        assert r.status_code == 404, method
        body = r.json()
        assert body["code"] == "NotFound" and "/api/v1/no/such/thing" in body["message"] and body["request_id"]


def test_absolute_form_reaches_every_route(server: ServerProcess) -> None:
    request = b"GET http://tidegate.example/healthz HTTP/1.1\r\nHost: tidegate.example\r\nConnection: close\r\n\r\n"
    data = raw_request(server.port, request)
    assert data.startswith(b"HTTP/1.1 200"), data[:200]
    assert b'"ok"' in data


def test_the_mns_account_resource_is_on_root_for_mns_requests_only(server: ServerProcess) -> None:
    r = httpx.delete(f"{server.url}/", headers={"x-mns-version": "2015-06-06"})
    assert r.status_code == 405 and "<Code>MethodNotAllowed</Code>" in r.text
    unsigned = httpx.get(f"{server.url}/?accountmeta=true", headers={"x-mns-version": "2015-06-06"})
    assert unsigned.status_code in (400, 403) and "<Error" in unsigned.text  # MNS, asking for a signature
