"""Request authentication through the official SDKs: signatures, keys, timestamps, nonces, STS tokens."""

from __future__ import annotations

import time

import pytest

from tests.api.sdk import run_scenario
from tests.server import ServerProcess
from tidegate.auth.keys import AccessKey, KeyKind, KeyRing

SDKS = ["fnfcore", "fnftea"]

# Pin the SDK's Timestamp / SignatureNonce by replacing the helpers its signer calls.
PIN = {
    "fnfcore": """
import aliyunsdkcore.utils.parameter_helper as _h
def pin(timestamp=None, nonce=None):
    if timestamp: _h.get_iso_8061_date = lambda: timestamp
    if nonce: _h.get_uuid = lambda: nonce
""",
    "fnftea": """
from alibabacloud_tea_openapi.utils import Utils as _U
def pin(timestamp=None, nonce=None):
    if timestamp: _U.get_timestamp = staticmethod(lambda: timestamp)
    if nonce: _U.get_nonce = staticmethod(lambda: nonce)
""",
}


def _test_keyring() -> KeyRing:
    root = AccessKey(id="testAccessKeyId", secret="testAccessKeySecret", kind=KeyKind.ROOT, account_id="1")
    return KeyRing(root)


@pytest.mark.parametrize("sdk", SDKS)
def test_wrong_secret_and_unknown_key(sdk: str, server: ServerProcess) -> None:
    body = 'out["r"] = call("ListFlows")\n'
    wrong = run_scenario(sdk, server.endpoint, body, sk="wrongSecret")
    unknown = run_scenario(sdk, server.endpoint, body, ak="LTAIunknown")
    assert wrong["r"]["error"] == "SignatureNotMatch" and wrong["r"]["status"] == 403
    assert "does not match" in wrong["r"]["message"]
    assert unknown["r"]["error"] == "InvalidAccessKeyID" and unknown["r"]["status"] == 403


@pytest.mark.parametrize("sdk", SDKS)
def test_skewed_timestamp_and_replayed_nonce(sdk: str, server: ServerProcess) -> None:
    nonce = f"replay-{sdk}-{time.time_ns()}"
    out = run_scenario(
        sdk,
        server.endpoint,
        PIN[sdk]
        + f"""
pin(nonce={nonce!r})
out["first"] = call("ListFlows")
out["replay"] = call("ListFlows")
pin(timestamp="2020-01-01T00:00:00Z", nonce={nonce + "-old"!r})
out["skewed"] = call("ListFlows")
""",
    )
    assert "ok" in out["first"]
    assert out["replay"]["error"] == "SignatureNonceUsed" and out["replay"]["status"] == 403
    assert out["skewed"]["error"] == "RequestTimeTooSkewed" and out["skewed"]["status"] == 403


def test_temporary_credentials_with_security_token(server: ServerProcess) -> None:
    ring = _test_keyring()
    temp = ring.issue_temporary(600, time.time())
    expired = ring.issue_temporary(1, time.time() - 3600)
    body = 'out["r"] = call("ListFlows")\n'
    ok = run_scenario(
        "fnftea", server.endpoint, body, ak=temp.id, sk=temp.secret, env={"STS": temp.security_token or ""}
    )
    old = run_scenario(
        "fnftea", server.endpoint, body, ak=expired.id, sk=expired.secret, env={"STS": expired.security_token or ""}
    )
    forged = run_scenario(
        "fnftea", server.endpoint, body, ak=temp.id, sk=temp.secret, env={"STS": (temp.security_token or "") + "x"}
    )
    # The signature checks out, but credentials that name no role carry no permission (a role session's
    # credentials that work are tested with STS AssumeRole, tests/api/test_sts_sdk.py).
    assert ok["r"]["error"] == "AccessDenied" and ok["r"]["status"] == 403 and "no role" in ok["r"]["message"]
    assert old["r"]["error"] == "InvalidSecurityToken.Expired" and old["r"]["status"] == 403
    assert forged["r"]["error"] == "InvalidSecurityToken.Malformed" and forged["r"]["status"] == 403


def test_http_proxy_redirects_an_unchanged_core_program(server: ServerProcess) -> None:
    # No endpoint at all: the SDK resolves cn-hangzhou.fnf.aliyuncs.com and sends an absolute-form
    # request to the proxy, which is tidegate.
    out = run_scenario(
        "fnfcore",
        "",
        """
flow = "version: v1\\ntype: flow\\nsteps:\\n  - type: pass\\n    name: p\\n"
out["create"] = call("CreateFlow", Name="proxied", Definition=flow, Description="", Type="FDL")
out["describe"] = call("DescribeFlow", Name="proxied")
out["report"] = call("ReportTaskSucceeded", TaskToken="garbled", Output="{}")
""",
        env={"HTTP_PROXY": server.url, "http_proxy": server.url, "NO_PROXY": ""},
    )
    assert out["create"]["ok"]["Name"] == "proxied"
    assert out["describe"]["ok"]["Id"] == out["create"]["ok"]["Id"]
    assert out["report"]["error"] == "InvalidArgument"


def test_tea_forced_to_signature_v3(server: ServerProcess) -> None:
    # The FnF client pins RPC v1; with the pin removed the Tea runtime signs with ACS3-HMAC-SHA256.
    body = (
        PIN["fnftea"]
        + """
import time
client._signature_algorithm = None
flow = "version: v1\\ntype: flow\\nsteps:\\n  - type: pass\\n    name: p\\n"
out["create"] = call("CreateFlow", Name="acs3_flow", Definition=flow, Description="d", Type="FDL")
out["start"] = call("StartExecution", FlowName="acs3_flow", ExecutionName="e 1".replace(" ", "_"), Input='{"a": "b c"}')
out["list"] = call("ListExecutions", FlowName="acs3_flow", Limit=3)
pin(nonce="acs3-fixed-nonce-" + str(time.time_ns()))
out["first"] = call("ListFlows")
out["replay"] = call("ListFlows")
"""
    )
    out = run_scenario("fnftea", server.endpoint, body)
    wrong = run_scenario("fnftea", server.endpoint, body.replace('"acs3_flow"', '"acs3_other"'), sk="wrong")
    assert out["create"]["ok"]["Name"] == "acs3_flow"
    assert out["start"]["ok"]["Input"] == '{"a": "b c"}'
    assert [e["Name"] for e in out["list"]["ok"]["Executions"]] == ["e_1"]
    assert "ok" in out["first"]
    assert out["replay"]["error"] == "SignatureNonceUsed"
    assert wrong["create"]["error"] == "SignatureNotMatch" and wrong["create"]["status"] == 403
