"""The MNS protocol layer in-process (the app in the test's process): authentication errors, error bodies,
headers, routing on ``/``, a long poll woken by a send."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.auth.captures import SECRET, flip, load_captures
from tests.inprocess import TEST_ROOT
from tests.waiting import wait_until
from tidegate.api.mns_auth import authenticate, parse_raw_query
from tidegate.auth.keys import AccessKey, KeyKind, KeyRing
from tidegate.auth.signatures import format_http_date, mns_authorization, parse_http_date
from tidegate.errors import AuthError
from tidegate.mq import queues
from tidegate.mq.client import fields
from tidegate.mq.wire import MessageRequest, QueueAttributes, encode_message, encode_queue_attributes, parse_xml

KEYS = KeyRing(AccessKey(id="testAccessKeyId", secret=SECRET, kind=KeyKind.ROOT, account_id="1234567890123456"))
MNS_CAPTURES = [c for c in load_captures() if c.scheme == "MNS"]


def _lower(headers: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in headers:
        out.setdefault(k.lower(), v)
    return out


def test_captured_requests_verify_and_one_changed_byte_does_not() -> None:
    assert len(MNS_CAPTURES) > 40
    for c in MNS_CAPTURES:
        h = _lower(c.headers)
        now = parse_http_date(h["date"])
        assert authenticate(c.method, c.target, h, c.body, KEYS, now).id == "testAccessKeyId", c.name
        tampered = flip(c.target, len(c.target) - 1)
        with pytest.raises(AuthError) as e:
            authenticate(c.method, tampered, h, c.body, KEYS, now)
        assert e.value.code == "SignatureDoesNotMatch", c.name
        if c.body:
            # A changed body no longer matches its Content-MD5 (the header itself is signed).
            body = c.body[:-1] + (b"A" if c.body[-1:] != b"A" else b"B")
            with pytest.raises(AuthError) as e:
                authenticate(c.method, c.target, h, body, KEYS, now)
            assert e.value.code == "InvalidDegist", c.name


def test_date_checks() -> None:
    c = MNS_CAPTURES[0]
    h = _lower(c.headers)
    now = parse_http_date(h["date"])
    with pytest.raises(AuthError, match="expired") as e:
        authenticate(c.method, c.target, h, c.body, KEYS, now + 901)
    assert e.value.code == "TimeExpired"
    with pytest.raises(AuthError) as e:
        authenticate(c.method, c.target, {k: v for k, v in h.items() if k != "date"}, c.body, KEYS, now)
    assert e.value.code == "MissingDateHeader"


def test_raw_query_keeps_plus() -> None:
    assert parse_raw_query("ReceiptHandle=a+b/c%3D&waitSeconds=3") == {"receipthandle": "a+b/c=", "waitseconds": "3"}


@pytest.fixture
def client(app_client: httpx.Client) -> httpx.Client:
    """The app in this process (the protocol layer needs no server process)."""
    return app_client


def _signed(method: str, target: str, body: bytes = b"", secret: str = SECRET) -> dict[str, str]:
    h = {"x-mns-version": "2015-06-06", "date": format_http_date(time.time())}
    if body:
        h["content-type"] = "text/xml;charset=UTF-8"
    h["authorization"] = mns_authorization("testAccessKeyId", secret, method, target, h)
    return h


def _error(resp: object) -> dict[str, str]:
    body = getattr(resp, "content")  # noqa: B009
    err = fields(parse_xml(body))
    assert set(err) == {"Code", "Message", "RequestId", "HostId"}
    return err


def test_error_bodies_and_headers(client: httpx.Client) -> None:
    r = client.get("/queues/q1")
    assert r.status_code == 400 and _error(r)["Code"] == "MissingAuthorizationHeader"
    assert "x-mns-request-id" in r.headers.keys()
    r = client.get("/queues/q1", headers=_signed("GET", "/queues/q1", secret="wrong"))
    assert r.status_code == 403 and _error(r)["Code"] == "SignatureDoesNotMatch"
    r = client.get("/queues/q1", headers=_signed("GET", "/queues/q1"))
    err = _error(r)
    assert r.status_code == 404 and err["Code"] == "QueueNotExist"
    assert err["RequestId"] == r.headers["x-mns-request-id"]
    assert err["HostId"] == "http://1234567890123456.mns.cn-hangzhou.aliyuncs.com"
    body = b'<?xml version="1.0" encoding="utf-8"?><Queue xmlns="http://mns.aliyuncs.com/doc/v1/"></Queue>'
    r = client.put("/queues/q1", content=body, headers=_signed("PUT", "/queues/q1", body))
    assert r.status_code == 201 and r.headers["location"] == f"{client.base_url}/queues/q1".replace(
        "//queues", "/queues"
    )
    r = client.put("/queues/q1", content=b"<Queue><Bogus", headers=_signed("PUT", "/queues/q1", b"<Queue><Bogus"))
    assert r.status_code == 400 and _error(r)["Code"] == "MalformedXML"


def test_root_is_mns_only_for_mns_requests(client: httpx.Client) -> None:
    r = client.get("/?accountmeta=true", headers=_signed("GET", "/?accountmeta=true"))
    assert r.status_code == 200 and parse_xml(r.content).tag == "Account"
    r = client.get("/?Action=ListFlows")
    assert r.status_code != 200 and b"<Account" not in r.content


def test_a_send_wakes_a_long_poll_over_http(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    # A parked long poll re-checks the store every RECHECK_S (for sends from other processes on SQLite):
    # with that beyond the wait, only the send's notification can end the wait early.
    monkeypatch.setattr(queues, "RECHECK_S", 60.0)
    body = encode_queue_attributes(QueueAttributes())
    assert client.put("/queues/wake", content=body, headers=_signed("PUT", "/queues/wake", body)).status_code == 201
    woke: dict[str, float] = {}
    target = "/queues/wake/messages?waitseconds=30"

    def poll() -> None:
        r = client.get(target, headers=_signed("GET", target))
        woke["t"] = time.monotonic()
        woke["ok"] = float(r.status_code == 200 and fields(parse_xml(r.content))["MessageBody"] == "ping")

    t = threading.Thread(target=poll)
    t.start()
    # The console shows the long polls parked on a queue (the case under test: parked, not still starting).
    signed = client.post("/console/api/session", json={"access_key_id": TEST_ROOT.id, "access_key_secret": SECRET})
    assert signed.status_code == 200, signed.text
    wait_until(
        lambda: client.get("/console/api/queues/wake").json()["receivers_waiting"] == 1,
        message="the long poll parked on the queue",
    )
    assert "t" not in woke  # the long poll is still waiting on the empty queue
    message = encode_message(MessageRequest(body="ping"))
    sent = time.monotonic()
    r = client.post("/queues/wake/messages", content=message, headers=_signed("POST", "/queues/wake/messages", message))
    assert r.status_code == 201, r.text
    t.join(40)
    assert woke["ok"] == 1.0
    assert woke["t"] - sent < 10  # woken by the send, well before the end of its 30 s wait
