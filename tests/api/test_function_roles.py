"""Function roles and HTTP trigger authType, in process.

A function's credentials are a session of its service's role (scoped by the role's policies, expiring on
the server's clock) and empty for a service without one. A trigger with ``authType: function`` needs a
request signed as Function Compute's API signs it; the signature is built here from FC's description,
independently of the server's code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.live_app import MovableClock
from tests.inprocess import TEST_AUTH, TEST_ROOT, in_process
from tidegate.api.context import AppContext
from tidegate.auth.keys import KeyRing
from tidegate.deploy.host import FunctionHost
from tidegate.deploy.registry import FunctionRecord, ServiceRecord, TriggerAuth
from tidegate.functions import InvocationResult
from tidegate.ram.model import EntityType
from tidegate.ram.service_roles import service_trust_policy
from tidegate.ram.sts import StsService
from tidegate.store import open_store

ACCOUNT = TEST_ROOT.account_id
REGION = "cn-hangzhou"
CODE = """
def creds(event, context):
    c = context.credentials
    return {"id": c.access_key_id, "secret": c.access_key_secret, "token": c.security_token}

def web(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [("hello " + environ["QUERY_STRING"]).encode()]
"""
LIST_FLOWS = {"Effect": "Allow", "Action": "fnf:ListFlows", "Resource": "*"}
INVOKE_WEB = {"Effect": "Allow", "Action": "fc:InvokeFunction", "Resource": "acs:fc:*:*:services/svc/functions/web"}


@dataclass
class Fc:
    ctx: AppContext
    host: FunctionHost
    client: httpx.Client
    clock: MovableClock

    def invoke(self, service: str) -> dict[str, str]:
        """Invoke ``SERVICE/creds`` as a task step would; return the credentials it saw."""
        spec = self.host.resolve(service, "", "creds")
        assert spec is not None
        result: InvocationResult = self.host.runner.invoke(spec, b"{}", self.host.context(service, "req-1"))
        assert result.ok, result.error_message
        doc: dict[str, str] = result.json()
        return doc

    def signed(
        self, path: str, key: tuple[str, str, str | None], *, query: str = "", skew_s: int = 0
    ) -> httpx.Response:
        """GET a trigger with an FC signature by ``key`` (id, secret, token) at the server's time + ``skew_s``."""
        headers = {
            "date": formatdate(self.clock() / 1000 + skew_s, usegmt=True),
            "content-type": "text/plain",
            "x-fc-trace": "t1",
        }
        if key[2]:
            headers["x-fc-security-token"] = key[2]
        headers["authorization"] = fc_authorization("GET", path, query, headers, key[0], key[1])
        return self.client.get(path + (f"?{query}" if query else ""), headers=headers)


def fc_authorization(method: str, path: str, query: str, headers: dict[str, str], key_id: str, secret: str) -> str:
    """FC's signature: METHOD, Content-MD5, Content-Type, Date, the x-fc-* headers and the resource."""
    fc_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()) if k.startswith("x-fc-"))
    resource = urllib.parse.unquote(path)
    params = sorted(f"{k}={v}" for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True))
    if params:
        resource += "\n" + "\n".join(params)
    text = "\n".join([method, headers.get("content-md5", ""), headers["content-type"], headers["date"]])
    text += "\n" + fc_headers + resource
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return f"FC {key_id}:{base64.b64encode(digest).decode()}"


def _policy(*statements: dict[str, str]) -> str:
    return json.dumps({"Version": "1", "Statement": list(statements)})


@pytest.fixture
def fc(tmp_path: Path) -> Iterator[Fc]:
    clock = MovableClock()
    store = open_store(f"sqlite:///{tmp_path / 'app.db'}")
    ctx = AppContext(store=store, keyring=KeyRing(TEST_ROOT), region=REGION, clock=clock)
    code = tmp_path / "code"
    code.mkdir()
    (code / "index.py").write_text(CODE)
    host = FunctionHost(
        store,
        tmp_path / "data",
        endpoint="http://testserver",
        region=REGION,
        account_id=ACCOUNT,
        sts=StsService(ctx.authorizer),
        workers=1,
    )
    for service in ("svc", "bare"):
        host.deploy(FunctionRecord(service=service, name="creds", code_dir=str(code), handler="index.creds"))
    for name, auth in (("web", TriggerAuth.FUNCTION), ("open", TriggerAuth.ANONYMOUS)):
        record = FunctionRecord(
            service="svc",
            name=name,
            code_dir=str(code),
            handler="index.web",
            kind="http",
            http_trigger=True,
            http_auth=auth,
        )
        host.deploy(record)
    ctx.ram.create_policy("fn-policy", _policy(LIST_FLOWS, INVOKE_WEB))
    ctx.ram.create_role("fn-role", service_trust_policy("fc.aliyuncs.com"))
    ctx.ram.attach_policy(EntityType.ROLE, "fn-role", "Custom", "fn-policy")
    try:
        with in_process(ctx, functions=host) as client:
            yield Fc(ctx, host, client, clock)
    finally:
        host.close()
        store.close()


def test_a_function_gets_its_service_roles_credentials_and_none_without_a_role(fc: Fc) -> None:
    r = fc.client.put("/api/v1/services/svc", json={"role": f"acs:ram::{ACCOUNT}:role/fn-role"}, auth=TEST_AUTH)
    assert r.status_code == 201 and r.json()["service"]["role"] == f"acs:ram::{ACCOUNT}:role/fn-role"
    assert fc.client.get("/api/v1/functions/svc/creds", auth=TEST_AUTH).json()["service_role"].endswith("fn-role")
    creds = fc.invoke("svc")
    assert creds["id"].startswith("STS.") and creds["secret"] and creds["token"]
    assert fc.invoke("bare") == {"id": "", "secret": "", "token": ""}  # as in Function Compute

    # Scoped by the role's policies: it may list flows, not create one.
    auth, token = (creds["id"], creds["secret"]), {"x-tidegate-security-token": creds["token"]}
    assert fc.client.get("/api/v1/flows", auth=auth, headers=token).status_code == 200
    denied = fc.client.post("/api/v1/flows", json={"name": "f", "definition": "x"}, auth=auth, headers=token)
    assert denied.status_code == 403 and "fnf:CreateFlow" in denied.json()["message"]

    # Removing the role takes the credentials away at once.
    assert fc.client.put("/api/v1/services/svc", json={"role": ""}, auth=TEST_AUTH).json()["result"] == "updated"
    assert fc.invoke("svc")["id"] == ""


def test_a_service_role_must_trust_function_compute(fc: Fc) -> None:
    fc.ctx.ram.create_role("flow-role", service_trust_policy("fnf.aliyuncs.com"))
    for role, message in [
        (f"acs:ram::{ACCOUNT}:role/flow-role", "does not trust fc.aliyuncs.com"),
        (f"acs:ram::{ACCOUNT}:role/missing", "does not exist"),
        ("fn-role", "is not valid"),
    ]:
        r = fc.client.put("/api/v1/services/svc", json={"role": role}, auth=TEST_AUTH)
        assert r.status_code == 400 and message in r.json()["message"], r.text
    assert fc.client.get("/api/v1/services/svc", auth=TEST_AUTH).status_code == 404
    r = fc.client.put("/api/v1/services/svc", json={"role": "", "colour": "red"}, auth=TEST_AUTH)
    assert r.status_code == 400 and "colour" in r.json()["message"]


def test_function_credentials_expire_on_the_servers_clock(fc: Fc) -> None:
    fc.client.put("/api/v1/services/svc", json={"role": f"acs:ram::{ACCOUNT}:role/fn-role"}, auth=TEST_AUTH)
    creds = fc.invoke("svc")
    key = (creds["id"], creds["secret"], creds["token"])
    # The role allows fc:InvokeFunction on svc/web: the function's credentials call the signed trigger.
    ok = fc.signed("/2016-08-15/proxy/svc/web/", key)
    assert ok.status_code == 200 and ok.text == "hello ", ok.text
    fc.clock.offset_ms = 3_700_000  # past the session's hour
    expired = fc.signed("/2016-08-15/proxy/svc/web/", key)
    assert expired.status_code == 403 and expired.json()["ErrorCode"] == "InvalidSecurityToken.Expired"


def test_anonymous_and_function_triggers(fc: Fc) -> None:
    root = (TEST_ROOT.id, TEST_ROOT.secret, None)
    assert fc.client.get("/2016-08-15/proxy/svc/open/?a=1").text == "hello a=1"  # anonymous: no signature
    unsigned = fc.client.get("/2016-08-15/proxy/svc/web/")
    assert unsigned.status_code == 403
    assert unsigned.json() == {
        "ErrorCode": "AccessDenied",
        "ErrorMessage": "required HTTP header Date was not specified",
    }
    no_auth = fc.client.get("/2016-08-15/proxy/svc/web/", headers={"date": formatdate(fc.clock() / 1000, usegmt=True)})
    assert no_auth.status_code == 403 and no_auth.json()["ErrorCode"] == "AccessDenied"

    ok = fc.signed("/2016-08-15/proxy/svc/web/a%20b", root, query="x=1&b=two+words&e=")
    assert ok.status_code == 200 and ok.text == "hello x=1&b=two+words&e="
    wrong = fc.signed("/2016-08-15/proxy/svc/web/", (TEST_ROOT.id, "not-the-secret", None))
    assert wrong.status_code == 403 and wrong.json()["ErrorCode"] == "SignatureNotMatch"
    late = fc.signed("/2016-08-15/proxy/svc/web/", root, skew_s=1200)
    assert late.status_code == 403 and late.json()["ErrorCode"] == "RequestTimeTooSkewed"
    unknown = fc.signed("/2016-08-15/proxy/svc/web/", ("LTAInobody", "x", None))
    assert unknown.status_code == 403 and unknown.json()["ErrorCode"] == "InvalidAccessKeyId"

    # A RAM user needs fc:InvokeFunction on the function.
    fc.ctx.ram.create_user("caller")
    made = fc.ctx.ram.create_access_key("caller")
    user = (made.key_id, made.secret or "", None)
    denied = fc.signed("/2016-08-15/proxy/svc/web/", user)
    assert denied.status_code == 403
    doc: dict[str, Any] = denied.json()
    assert doc["ErrorCode"] == "AccessDenied" and "fc:InvokeFunction" in doc["ErrorMessage"]
    fc.ctx.ram.attach_policy(EntityType.USER, "caller", "System", "AliyunFCInvocationAccess")
    assert fc.signed("/2016-08-15/proxy/svc/web/", user).status_code == 200


def test_trigger_auth_type_in_the_functions_api(fc: Fc, tmp_path: Path) -> None:
    doc = fc.client.get("/api/v1/functions/svc/web", auth=TEST_AUTH).json()
    assert doc["http_trigger"] == {"methods": list(doc["http_trigger"]["methods"]), "auth_type": "function"}
    body = {"code_dir": str(tmp_path / "code"), "handler": "index.web", "http_trigger": {"auth_type": "key"}}
    r = fc.client.put("/api/v1/functions/svc/other", json=body, auth=TEST_AUTH)
    assert r.status_code == 400 and "anonymous, function" in r.json()["message"]
    body = {
        "code_dir": str(tmp_path / "code"),
        "handler": "index.web",
        "kind": "http",
        "http_trigger": {"auth_type": "function"},
    }
    r = fc.client.put("/api/v1/functions/svc/other", json=body, auth=TEST_AUTH)
    assert r.status_code == 201 and r.json()["function"]["http_trigger"]["auth_type"] == "function"
    assert fc.host.registry.put_service(ServiceRecord(name="svc"))[1] == "created"


def test_a_signed_trigger_request_binds_its_body_by_content_md5(fc: Fc) -> None:
    root = (TEST_ROOT.id, TEST_ROOT.secret, None)
    path = "/2016-08-15/proxy/svc/web/"
    body = b"the body that was signed"
    headers = {
        "date": formatdate(fc.clock() / 1000, usegmt=True),
        "content-type": "text/plain",
        "content-md5": base64.b64encode(hashlib.md5(body).digest()).decode(),
    }
    headers["authorization"] = fc_authorization("POST", path, "", headers, root[0], root[1])
    assert fc.client.post(path, content=body, headers=headers).status_code == 200
    tampered = fc.client.post(path, content=b"another body", headers=headers)
    assert tampered.status_code == 400
    assert tampered.json() == {
        "ErrorCode": "InvalidArgument",
        "ErrorMessage": "the Content-MD5 header does not match the body",
    }
