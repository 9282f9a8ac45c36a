"""Request bodies: one size-limited reader for every protocol."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.requests import Request

from tidegate.api.body import MAX_BODY as MNS_MAX_BODY
from tidegate.api.body import read_body


def request(chunks: list[bytes], headers: dict[str, str] | None = None) -> tuple[Request, list[int]]:
    """A request whose body arrives in ``chunks``; the list counts how many were read."""
    read = [0]
    pending = list(chunks)

    async def receive() -> dict[str, Any]:
        read[0] += 1
        body = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": "POST", "path": "/", "headers": raw, "query_string": b""}
    return Request(scope, receive), read


def test_a_body_within_the_limit_is_returned_whole() -> None:
    req, _ = request([b"abc", b"def"])
    assert asyncio.run(read_body(req, 6)) == b"abcdef"


def test_a_body_over_the_limit_stops_being_read() -> None:
    req, read = request([b"abcd", b"efgh", b"ijkl"])
    assert asyncio.run(read_body(req, 6)) is None
    assert read[0] == 2  # the third chunk was never asked for


def test_a_declared_length_over_the_limit_reads_nothing() -> None:
    req, read = request([b"abc"], {"Content-Length": "7"})
    assert asyncio.run(read_body(req, 6)) is None
    assert read[0] == 0


def test_an_oversized_mns_request_is_an_mns_error(app_client: httpx.Client) -> None:
    r = app_client.post(
        "/queues/q/messages",
        content=b"x" * (MNS_MAX_BODY + 1),
        headers={"x-mns-version": "2015-06-06", "content-type": "text/xml"},
    )
    assert r.status_code == 400
    assert "<Code>MalformedXML</Code>" in r.text and "larger than" in r.text
