"""Console sign-in, CSRF and the JSON endpoints, against a real server (SQLite store)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.console.conftest import KEY
from tests.console.flows import MIXED
from tests.server import ServerProcess
from tidegate.auth.keys import AccessKey, KeyKind, KeyRing
from tidegate.console.session import ConsoleUnauthorized, SessionSigner

ROOT = AccessKey(id=KEY[0], secret=KEY[1], kind=KeyKind.ROOT, account_id="1234567890123456")
SIGN_IN = {"access_key_id": ROOT.id, "access_key_secret": ROOT.secret}


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    """A fresh cookie jar on the module's server."""
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def create_flow(rest: httpx.Client, name: str, definition: str) -> None:
    assert rest.post("/flows", json={"name": name, "definition": definition}).status_code in (201, 409)


def signed_in(client: httpx.Client) -> str:
    r = client.post("/console/api/session", json=SIGN_IN)
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def test_nothing_without_a_session(client: httpx.Client) -> None:
    for path in ("/console/api/flows", "/console/api/queues", "/console/api/topics", "/console/api/schedules"):
        assert client.get(path).status_code == 401
    assert client.post("/console/api/flows/x/executions", json={}).status_code == 401
    assert client.get("/console/api/session").status_code == 401
    page = client.get("/console/")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]


def test_sign_in_sets_a_strict_httponly_cookie(client: httpx.Client) -> None:
    assert client.post("/console/api/session", json={**SIGN_IN, "access_key_secret": "nope"}).status_code == 401
    assert client.post("/console/api/session", json={**SIGN_IN, "access_key_id": "other"}).status_code == 401
    r = client.post("/console/api/session", json=SIGN_IN)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    assert client.get("/console/api/session").json()["key_id"] == ROOT.id
    assert client.get("/console/api/flows").status_code == 200


def test_state_changes_need_the_csrf_token_and_json(client: httpx.Client, rest: httpx.Client) -> None:
    csrf = signed_in(client)
    create_flow(rest, "mixed", MIXED)
    path = "/console/api/flows/mixed/executions"
    assert client.post(path, json={"input": {}}).status_code == 403
    assert client.post(path, json={"input": {}}, headers={"x-csrf-token": "0" * 64}).status_code == 403
    form = client.post(path, content=b"input=1", headers={"x-csrf-token": csrf, "content-type": "text/plain"})
    assert form.status_code == 400
    ok = client.post(path, json={"name": "csrf1", "input": {"items": []}}, headers={"x-csrf-token": csrf})
    assert ok.status_code == 201 and ok.json()["name"] == "csrf1"
    bad = client.post(path, json={"input": [1]}, headers={"x-csrf-token": csrf})
    assert bad.status_code == 400


def test_sign_in_from_another_site_is_refused(client: httpx.Client) -> None:
    r = client.post("/console/api/session", json=SIGN_IN, headers={"origin": "http://evil.example"})
    assert r.status_code == 403


def test_forged_and_expired_cookies_are_refused() -> None:
    signer = SessionSigner(KeyRing(ROOT))
    cookie, session = signer.sign_in(ROOT.id, ROOT.secret, time.time())
    assert signer.verify(cookie, time.time()) == session
    body, mac = cookie.split(".")
    with pytest.raises(ConsoleUnauthorized):
        signer.verify(body + "." + mac[:-2] + "AA", time.time())
    with pytest.raises(ConsoleUnauthorized):
        signer.verify(cookie, session.expires_s + 1)
    other = SessionSigner(KeyRing(AccessKey(id="k", secret="another-root", kind=KeyKind.ROOT, account_id="1")))
    with pytest.raises(ConsoleUnauthorized):
        other.verify(cookie, time.time())


def test_root_redirects_browsers_but_not_rpc(client: httpx.Client) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"] == "/console/"
    rpc = client.get("/?Action=ListFlows", follow_redirects=False)
    assert rpc.status_code != 307
    v3 = client.get(
        "/", headers={"x-acs-action": "ListFlows", "authorization": "ACS3-HMAC-SHA256 x"}, follow_redirects=False
    )
    assert v3.status_code != 307  # a signature-V3 API call is answered by the API, not redirected


def test_flow_graph_progress_and_steps(client: httpx.Client, rest: httpx.Client) -> None:
    signed_in(client)
    create_flow(rest, "mixed", MIXED)
    flow = client.get("/console/api/flows/mixed").json()
    assert flow["graph"]["count"] == 9
    found = client.get("/console/api/flows?q=MIX").json()["flows"]
    assert [f["name"] for f in found] == ["mixed"]
    assert client.get("/console/api/flows?q=zzz").json()["flows"] == []
    assert rest.post("/flows/mixed/executions", json={"name": "ok1", "input": {"kind": "b", "items": [1]}}).is_success
    assert rest.get("/flows/mixed/executions/ok1?wait=10").json()["status"] == "Succeeded"
    doc = client.get("/console/api/flows/mixed/executions/ok1/progress?after=0").json()
    assert doc["execution"]["status"] == "Succeeded" and doc["events"][0]["type"] == "ExecutionStarted"
    assert doc["nodes"]["steps[0]"]["status"] == "succeeded" and "steps[1]" not in doc["nodes"]  # goto skipped it
    last = doc["last_event_id"]
    again = client.get(f"/console/api/flows/mixed/executions/ok1/progress?after={last}").json()
    assert again["events"] == [] and "nodes" not in again  # nothing new: no projection
    steps = client.get("/console/api/flows/mixed/executions/ok1/steps?path=steps[0]").json()
    assert steps["name"] == "route" and steps["total"] == 1 and steps["runs"][0]["input"]["kind"] == "b"
    assert client.get("/console/api/flows/mixed/executions/ok1/steps?path=nope").status_code == 400
    listed = client.get("/console/api/flows/mixed/executions?status=Succeeded&prefix=ok").json()
    assert [e["name"] for e in listed["executions"]] == ["ok1"]
    assert client.get("/console/api/flows/mixed/executions?status=Bogus").status_code == 400


def test_hostile_values_are_400_without_a_traceback(
    client: httpx.Client, rest: httpx.Client, server: ServerProcess
) -> None:
    log_start = len(server.log())
    csrf = signed_in(client)
    create_flow(rest, "mixed", MIXED)
    huge = "99999999999999999999999"
    for query in (f"from={huge}", f"to={huge}", "from=%C2%B2", f"limit={huge}", f"next_token={huge}.1"):
        r = client.get(f"/console/api/flows/mixed/executions?{query}")
        assert (r.status_code, r.json()["code"]) == (400, "InvalidArgument"), (query, r.text)
    path = "/console/api/flows/mixed/executions"
    for body in ('{"input":{"a":"\\ud800"}}', '{"input":{"a":NaN}}', '{"input":' + "[" * 5000 + "]" * 5000 + "}"):
        r = client.post(path, content=body, headers={"x-csrf-token": csrf, "content-type": "application/json"})
        assert (r.status_code, r.json()["code"]) == (400, "InvalidArgument"), (body[:40], r.text)
    assert client.get("/console/api/flows/mixed/executions").status_code == 200
    log = server.log()[log_start:]
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]
