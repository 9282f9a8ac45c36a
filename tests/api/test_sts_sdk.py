"""STS through its official SDKs (aliyun-python-sdk-sts, alibabacloud-sts20150401) against a real server.

The app runs on a real socket in this process (:mod:`tests.api.live_app`) so that the test can move the
server's clock: credentials issued for 900 s are refused once the server lives past their expiry, with no
sleeping (both moves stay inside the 900 s the signature's timestamp may be off by).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.live_app import MovableClock, serve_app
from tests.api.sdk import run_scenario
from tests.inprocess import TEST_ROOT
from tests.sdkenv import fnftea_env, ramcore_env, ramtea_env  # noqa: F401  (session fixtures)
from tidegate.api.context import AppContext
from tidegate.auth.keys import KeyRing
from tidegate.ram.model import PrincipalType
from tidegate.ram.service import RamService
from tidegate.store import open_store

ACCOUNT = TEST_ROOT.account_id

CORE = """
import json, os
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.auth.credentials import AccessKeyCredential, StsTokenCredential
from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest
from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest

def client(ak=None, sk=None, token=None):
    ak, sk = ak or os.environ["AK"], sk or os.environ["SK"]
    cred = StsTokenCredential(ak, sk, token) if token else AccessKeyCredential(ak, sk)
    return AcsClient(region_id="cn-hangzhou", credential=cred, timeout=30, auto_retry=False)

def _do(c, req):
    req.set_endpoint(os.environ["ENDPOINT"])
    req.set_protocol_type("http")  # the STS requests default to HTTPS
    try:
        return {"ok": json.loads(c.do_action_with_exception(req))}
    except ServerException as e:
        return {"error": e.get_error_code(), "status": e.get_http_status(), "message": e.get_error_msg()}

def assume_role(c, **params):
    req = AssumeRoleRequest()
    for k, v in params.items():
        getattr(req, "set_" + k)(v)
    return _do(c, req)

def caller(c):
    return _do(c, GetCallerIdentityRequest())
"""

TEA = """
import json, os
from alibabacloud_sts20150401.client import Client
from alibabacloud_sts20150401 import models as m
from alibabacloud_tea_openapi.utils_models import Config
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException

def client(ak=None, sk=None, token=None):
    return Client(Config(access_key_id=ak or os.environ["AK"], access_key_secret=sk or os.environ["SK"],
                         security_token=token, endpoint=os.environ["ENDPOINT"], protocol="http",
                         region_id="cn-hangzhou", read_timeout=30000))

def _do(fn):
    try:
        return {"ok": fn().body.to_map()}
    except (ClientException, ServerException) as e:
        return {"error": e.code, "status": e.status_code, "message": e.message}

def assume_role(c, **params):
    return _do(lambda: c.assume_role(m.AssumeRoleRequest().from_map(params)))

def caller(c):
    return _do(c.get_caller_identity)
"""

SDKS = {"ramcore": CORE, "ramtea": TEA}


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def live(tmp_path: Path, clock: MovableClock) -> Iterator[tuple[AppContext, str]]:
    store = open_store(f"sqlite:///{tmp_path / 'sts.db'}")
    ctx = AppContext(store=store, keyring=KeyRing(TEST_ROOT), clock=clock)
    try:
        with serve_app(ctx) as endpoint:
            yield ctx, endpoint
    finally:
        store.close()


def sts(sdk: str, endpoint: str, body: str, **kw: Any) -> dict[str, Any]:
    return run_scenario(sdk, endpoint, body, prelude=SDKS[sdk], ak=TEST_ROOT.id, sk=TEST_ROOT.secret, **kw)


@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_get_caller_identity_of_the_account(sdk: str, live: tuple[AppContext, str]) -> None:
    _, endpoint = live
    out = sts(sdk, endpoint, 'out["r"] = caller(client())')
    body = out["r"]["ok"]
    assert body["IdentityType"] == "Account" and body["AccountId"] == ACCOUNT
    assert body["Arn"] == f"acs:ram::{ACCOUNT}:root"
    assert body["UserId"] == ACCOUNT and body["PrincipalId"] == ACCOUNT and "RoleId" not in body
    assert body["RequestId"]


@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_assume_role_parameters_refused_in_sts_codes(sdk: str, live: tuple[AppContext, str]) -> None:
    _, endpoint = live
    role = f"acs:ram::{ACCOUNT}:role/nobody"
    cases = {
        "arn": {"RoleArn": "arn:aws:iam::1:role/x", "RoleSessionName": "s1"},
        "other_account": {"RoleArn": "acs:ram::999:role/x", "RoleSessionName": "s1"},
        "session": {"RoleArn": role, "RoleSessionName": "a"},
        "session_chars": {"RoleArn": role, "RoleSessionName": "alice smith"},
        "short": {"RoleArn": role, "RoleSessionName": "s1", "DurationSeconds": 899},
        "long": {"RoleArn": role, "RoleSessionName": "s1", "DurationSeconds": 43201},
        "grammar": {"RoleArn": role, "RoleSessionName": "s1", "Policy": '{"Statement": "x"}'},
        "not_json": {"RoleArn": role, "RoleSessionName": "s1", "Policy": "{"},
        "too_long": {"RoleArn": role, "RoleSessionName": "s1", "Policy": " " * 2049},
        "external_id": {"RoleArn": role, "RoleSessionName": "s1", "ExternalId": "x"},
        "source_identity": {"RoleArn": role, "RoleSessionName": "s1", "SourceIdentity": "alice"},
        "missing_role": {"RoleArn": role, "RoleSessionName": "s1"},
    }
    body = "c = client()\n" + "".join(f'out["{k}"] = assume_role(c, **{json.dumps(v)})\n' for k, v in cases.items())
    out = sts(sdk, endpoint, body)
    want = {
        "arn": ("InvalidParameter.RoleArn", 400),
        "other_account": ("EntityNotExist.Role", 404),
        "session": ("InvalidParameter.RoleSessionName", 400),
        "session_chars": ("InvalidParameter.RoleSessionName", 400),
        "short": ("InvalidParameter.DurationSeconds", 400),
        "long": ("InvalidParameter.DurationSeconds", 400),
        "grammar": ("InvalidParameter.PolicyGrammar", 400),
        "not_json": ("InvalidParameter.PolicyGrammar", 400),
        "too_long": ("InvalidParameter.PolicyGrammar", 400),
        "external_id": ("InvalidParameter.ExternalId", 400),
        "source_identity": ("InvalidParameter", 400),
        "missing_role": ("EntityNotExist.Role", 404),
    }
    got = {k: (v.get("error"), v.get("status")) for k, v in out.items()}
    assert got == want, out


def _ram(ctx: AppContext) -> RamService:
    return RamService(ctx.store, ctx.keyring, account_id=ctx.account_id, clock=ctx.clock)


@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_assumed_role_credentials_work_narrowed_and_expire(
    sdk: str, live: tuple[AppContext, str], clock: MovableClock
) -> None:
    ctx, endpoint = live
    ram = _ram(ctx)
    trust = json.dumps(
        {
            "Version": "1",
            "Statement": [
                {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"RAM": [f"acs:ram::{ACCOUNT}:root"]}}
            ],
        }
    )
    role = ram.create_role("reader", trust)
    ram.attach_policy(PrincipalType.ROLE, "reader", "System", "AliyunFnFReadOnlyAccess")
    only_describe = json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "fnf:DescribeFlow", "Resource": "*"}]}
    )
    # Issued while the server's clock is 800 s behind: the 900 s credentials end 100 s from now.
    clock.offset_ms = -800_000
    out = sts(
        sdk,
        endpoint,
        f"""
c = client()
out["full"] = assume_role(c, RoleArn={role.arn!r}, RoleSessionName="full", DurationSeconds=900)
out["narrow"] = assume_role(c, RoleArn={role.arn!r}, RoleSessionName="narrow", Policy={only_describe!r})
creds = out["full"]["ok"]["Credentials"]
out["me"] = caller(client(creds["AccessKeyId"], creds["AccessKeySecret"], creds["SecurityToken"]))
""",
    )
    full = out["full"]["ok"]
    assert full["AssumedRoleUser"] == {
        "Arn": f"acs:ram::{ACCOUNT}:assumed-role/reader/full",
        "AssumedRoleId": f"{role.role_id}:full",
    }
    creds = full["Credentials"]
    assert creds["AccessKeyId"].startswith("STS.") and creds["Expiration"].endswith("Z")
    assert out["me"]["ok"]["IdentityType"] == "AssumedRoleUser"
    assert out["me"]["ok"]["Arn"] == f"acs:ram::{ACCOUNT}:assumed-role/reader/full"
    assert out["me"]["ok"]["RoleId"] == role.role_id

    def fnf(c: dict[str, str], body: str) -> dict[str, Any]:
        env = {"STS": c["SecurityToken"]}
        return run_scenario("fnftea", endpoint, body, ak=c["AccessKeyId"], sk=c["AccessKeySecret"], env=env)

    flows = 'out["list"] = call("ListFlows")\nout["create"] = call("CreateFlow", Name="f", Type="FDL", Definition="x")'
    as_full = fnf(creds, flows)
    assert "Flows" in as_full["list"]["ok"]  # the role's read-only policy allows listing…
    assert as_full["create"]["error"] == "AccessDenied" and as_full["create"]["status"] == 403  # …not creating
    as_narrow = fnf(out["narrow"]["ok"]["Credentials"], 'out["list"] = call("ListFlows")')
    assert as_narrow["list"]["error"] == "AccessDenied"  # the session policy allows DescribeFlow only

    clock.offset_ms = 200_000  # 300 s later for the server: past the expiry
    late = fnf(creds, 'out["list"] = call("ListFlows")')
    assert late["list"]["error"] == "InvalidSecurityToken.Expired" and late["list"]["status"] == 403

    # Deleting the role ends its sessions at once.
    clock.offset_ms = 0
    again = sts(sdk, endpoint, f'out["r"] = assume_role(client(), RoleArn={role.arn!r}, RoleSessionName="s2")')
    ram.detach_policy(PrincipalType.ROLE, "reader", "System", "AliyunFnFReadOnlyAccess")
    ram.delete_role("reader")
    gone = fnf(again["r"]["ok"]["Credentials"], 'out["list"] = call("ListFlows")')
    assert gone["list"]["error"] == "InvalidSecurityToken.Malformed" and "deleted" in gone["list"]["message"]


@pytest.mark.parametrize("sdk", sorted(SDKS))
def test_a_user_assumes_a_role_only_with_permission(sdk: str, live: tuple[AppContext, str]) -> None:
    ctx, endpoint = live
    ram = _ram(ctx)
    trust = json.dumps(
        {
            "Version": "1",
            "Statement": [
                {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"RAM": [f"acs:ram::{ACCOUNT}:root"]}}
            ],
        }
    )
    role = ram.create_role("ops", trust)
    ram.create_user("alice")
    ram.create_user("bob")
    ram.attach_policy(PrincipalType.USER, "bob", "System", "AliyunSTSAssumeRoleAccess")
    keys = {name: ram.create_access_key(name) for name in ("alice", "bob")}
    body = f'out["r"] = assume_role(client(), RoleArn={role.arn!r}, RoleSessionName="s1")\nout["me"] = caller(client())'
    results = {
        name: run_scenario(sdk, endpoint, body, prelude=SDKS[sdk], ak=k.key_id, sk=k.secret or "")
        for name, k in keys.items()
    }
    assert results["alice"]["r"]["error"] == "NoPermission" and results["alice"]["r"]["status"] == 403
    assert results["bob"]["r"]["ok"]["AssumedRoleUser"]["Arn"] == f"acs:ram::{ACCOUNT}:assumed-role/ops/s1"
    # GetCallerIdentity needs no permission: alice has none at all.
    me = results["alice"]["me"]["ok"]
    assert me["IdentityType"] == "RAMUser" and me["Arn"] == f"acs:ram::{ACCOUNT}:user/alice"
    assert me["UserId"] == ram.get_user("alice").user_id == me["PrincipalId"]
