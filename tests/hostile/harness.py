"""Signed clients for every protocol of a real server, and the invariants every answer must keep.

The hostile-input suite talks to a ``tidegate server`` subprocess (``tests.server.ServerProcess``) through
properly signed requests, so generated inputs get past the authentication wall and reach the parsers,
the service and the store. After every request :meth:`Hostile.check` asserts what must hold for ANY
input:

* no 5xx answer;
* an error body in the protocol's own format: MNS ``<Error>`` XML with Code/Message/RequestId/HostId,
  RPC JSON with Code/Message/RequestId, REST JSON ``{code, message, request_id}``, console JSON
  ``{code, message}``;
* no new Python traceback in the server's log;
* ``/healthz`` still answers 200.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from hypothesis import HealthCheck, Phase, settings

from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until
from tidegate.auth.signatures import format_http_date, mns_authorization, sign_rpc
from tidegate.mq.wire_xml import MalformedXML, parse_xml
from tidegate.status import TERMINAL, ExecutionStatus

KEY_ID = TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"]
SECRET = TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"]

#: ``TIDEGATE_HOSTILE_EXAMPLES=2000`` runs the big form (random, not derandomized); CI runs a fixed set.
BIG = int(os.environ.get("TIDEGATE_HOSTILE_EXAMPLES", "0"))
#: ``TIDEGATE_HOSTILE_GENERATED_ONLY=1`` skips the explicit examples (a failing one stops the generated phase).
GENERATED_ONLY = os.environ.get("TIDEGATE_HOSTILE_GENERATED_ONLY") == "1"


def hostile_settings(ci_examples: int = 60) -> settings:
    """Bounded and reproducible in CI (derandomized: the same examples every run); big behind the env var."""
    return settings(
        max_examples=BIG or ci_examples,
        deadline=None,
        derandomize=not BIG,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=False,
        phases=[p for p in Phase if not (GENERATED_ONLY and p is Phase.explicit)],
    )


class Protocol(Enum):
    """The four error formats the server speaks."""

    RPC = "rpc"
    MNS = "mns"
    REST = "rest"
    CONSOLE = "console"


# Pass-flow and callback-flow definitions used by the fixtures.
PASS_FLOW = """version: v1
type: flow
steps:
  - type: pass
    name: p
"""


def rpc_params(params: Mapping[str, str], method: str) -> dict[str, str]:
    """``params`` with the common parameters and a valid HMAC-SHA1 signature over all of them."""
    full = {
        "Version": "2019-03-15",
        "Format": "JSON",
        "AccessKeyId": KEY_ID,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **params,
    }
    full["Signature"] = sign_rpc(SECRET, method, full)
    return full


def mns_headers(method: str, target: str, body: bytes, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers the official MNS SDK sends (Content-MD5 as base64 of the hex digest), signed."""
    h: dict[str, str] = {"x-mns-version": "2015-06-06", "date": format_http_date(time.time())}
    if body:
        h["content-type"] = "text/xml;charset=UTF-8"
        h["content-md5"] = base64.b64encode(hashlib.md5(body).hexdigest().encode()).decode()
    h.update(extra or {})
    h["authorization"] = mns_authorization(KEY_ID, SECRET, method, target, h)
    return h


class Hostile:
    """One server and a signed client for each protocol, with the invariant checks.

    Args:
        srv: a started server with :data:`TEST_KEYS`.
    """

    def __init__(self, srv: ServerProcess) -> None:
        self.srv = srv
        self.http = httpx.Client(base_url=srv.url, timeout=30)
        self.console_http = httpx.Client(base_url=srv.url, timeout=30)
        self._log_offset = 0
        self._csrf = ""
        self.prepared = False  # the test's fixtures (flows, queues) exist on this server
        self.counter = 0  # for unique execution names across examples

    def close(self) -> None:
        self.http.close()
        self.console_http.close()

    def __enter__(self) -> Hostile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ---------------------------------------------------------------------------------------

    def rpc(self, params: Mapping[str, str], method: str = "GET") -> httpx.Response:
        """A signed RPC call; GET puts the parameters in the query, POST in a form body."""
        full = rpc_params(params, method)
        if method == "GET":
            return self.http.get("/", params=full)
        body = urlencode(full).encode()
        return self.http.post("/", content=body, headers={"content-type": "application/x-www-form-urlencoded"})

    def rpc_ok(self, params: Mapping[str, str]) -> dict[str, Any]:
        """A signed RPC call that must succeed; its JSON."""
        r = self.rpc(params)
        assert r.status_code == 200, r.text
        doc: dict[str, Any] = r.json()
        return doc

    def mns(
        self, method: str, path: str, query: str = "", body: bytes = b"", headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """A signed MNS request; ``path`` and ``query`` are sent (and signed) exactly as given."""
        target = path + (f"?{query}" if query else "")
        h = mns_headers(method, target, body, headers)
        return self.http.request(method, target, content=body, headers=h)

    def rest(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A REST call with the root key in HTTP Basic."""
        return self.http.request(method, "/api/v1" + path, auth=(KEY_ID, SECRET), **kw)

    def console(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """A console call with a session cookie and its CSRF token (signed in on first use)."""
        if not self._csrf:
            r = self.console_http.post(
                "/console/api/session", json={"access_key_id": KEY_ID, "access_key_secret": SECRET}
            )
            assert r.status_code == 200, r.text
            self._csrf = str(r.json()["csrf"])
        headers = {"x-csrf-token": self._csrf, **kw.pop("headers", {})}
        return self.console_http.request(method, "/console/api" + path, headers=headers, **kw)

    # -- invariants -------------------------------------------------------------------------------------

    def new_log(self) -> str:
        """What the server logged since the last call."""
        data = self.srv.log_path.read_bytes() if self.srv.log_path.exists() else b""
        new, self._log_offset = data[self._log_offset :], len(data)
        return new.decode(errors="replace")

    def check(self, r: httpx.Response, protocol: Protocol, what: object = "") -> None:
        """Assert every invariant of one answer (see the module docstring)."""
        where = f"{r.request.method} {r.request.url.raw_path.decode(errors='replace')[:200]} {what!r:.300}"
        log = self.new_log()  # read first: what this request logged is never blamed on the next one
        assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:500]}"
        if r.status_code >= 400:
            check_error_body(r, protocol, where)
        assert "Traceback (most recent call last)" not in log, f"{where}: traceback in the server log:\n{log[-3000:]}"
        health = httpx.get(self.srv.url + "/healthz", timeout=10)
        assert health.status_code == 200, f"{where}: /healthz answered {health.status_code}"

    def check_quiet(self, what: object = "") -> None:
        """No traceback in the log since the last check (for failures that happen after the answer)."""
        log = self.new_log()
        assert "Traceback (most recent call last)" not in log, (
            f"{what!r:.300}: traceback in the server log:\n{log[-3000:]}"
        )


def check_error_body(r: httpx.Response, protocol: Protocol, where: str) -> None:
    """The error body is in the protocol's own format."""
    if protocol is Protocol.MNS:
        try:
            root = parse_xml(r.content)
        except MalformedXML as e:
            raise AssertionError(f"{where}: {r.status_code} error body is not XML ({e}): {r.text[:300]}") from None
        if root.tag == "Errors":  # BatchDeleteMessage's per-entry failures
            assert root.all("Error"), f"{where}: empty <Errors>"
            return
        assert root.tag == "Error", f"{where}: root <{root.tag}> in {r.text[:300]}"
        tags = {c.tag for c in root.children}
        assert {"Code", "Message", "RequestId", "HostId"} <= tags, f"{where}: {r.text[:300]}"
        return
    try:
        doc = r.json()
    except ValueError:
        raise AssertionError(f"{where}: {r.status_code} error body is not JSON: {r.text[:300]}") from None
    assert isinstance(doc, dict), f"{where}: {r.text[:300]}"
    keys = {
        Protocol.RPC: {"Code", "Message", "RequestId"},
        Protocol.REST: {"code", "message", "request_id"},
        Protocol.CONSOLE: {"code", "message"},
    }[protocol]
    assert keys <= doc.keys(), f"{where}: {r.status_code} {r.text[:300]}"
    assert all(isinstance(doc[k], str) and (k == "Message" or k == "message" or doc[k]) for k in keys), r.text[:300]


def started(srv_dir: Path, functions: Path) -> Iterator[Hostile]:
    """Start a server on ``srv_dir`` with ``functions``; yield its :class:`Hostile`; stop it."""
    srv = ServerProcess(srv_dir, env=TEST_KEYS, args=["--functions", str(functions)])
    srv.start(timeout_s=60)  # a loaded 2-core machine can take many seconds
    h = Hostile(srv)
    try:
        yield h
    finally:
        h.close()
        srv.kill()


def wait_token(h: Hostile, flow: str, execution: str, timeout_s: float = 30.0) -> str:
    """Wait (with a deadline) until the callback task is submitted; its token."""

    def token() -> str | None:
        events = h.rpc_ok({"Action": "GetExecutionHistory", "FlowName": flow, "ExecutionName": execution})["Events"]
        if not any(e["Type"] == "TaskSubmitted" for e in events):
            return None
        sched = [e for e in events if e["Type"] == "TaskScheduled"][-1]
        return str(json.loads(sched["EventDetail"])["input"]["token"])

    return wait_until(token, timeout=timeout_s, message=f"{flow}/{execution}: the task submitted")


def wait_ended(h: Hostile, flow: str, execution: str, what: object = "", timeout_s: float = 30.0) -> dict[str, Any]:
    """Wait (with a deadline) until an accepted execution has ended (it may fail, never stay Running)."""

    def ended() -> dict[str, Any] | None:
        doc = h.rpc_ok({"Action": "DescribeExecution", "FlowName": flow, "ExecutionName": execution})
        return doc if ExecutionStatus(doc["Status"]) in TERMINAL else None

    return wait_until(ended, timeout=timeout_s, message=f"{what!r:.300}: {flow}/{execution} to end")


def q(value: str) -> str:
    """Percent-encode a query value or path segment completely (what was signed is what is sent)."""
    return quote(value, safe="")
