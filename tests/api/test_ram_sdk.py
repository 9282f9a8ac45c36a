"""The RAM API through both official RAM SDKs against a real ``tidegate server``."""

# ruff: noqa: E501  (the scenarios are SDK call sequences, one call per line)

from __future__ import annotations

import json
import re

import pytest

from tests.api.ram_sdk import run_ram
from tests.sdkenv import SdkEnv, ramcore_env, ramtea_env, run_in_env  # noqa: F401  (session fixtures)
from tests.server import TEST_KEYS, ServerProcess
from tidegate.shim import SHIM_DIR

SDKS = ["ramcore", "ramtea"]

SEND = json.dumps(
    {
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": "mns:SendMessage", "Resource": "acs:mns:*:*:/queues/fnf-demo/messages"}
        ],
    }
)
SEND2 = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "mns:*", "Resource": "*"}]})
TRUST = json.dumps(
    {
        "Version": "1",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": ["fnf.aliyuncs.com"]}}],
    }
)
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"


@pytest.fixture(params=SDKS)
def sdk(request: pytest.FixtureRequest, ramcore_env: SdkEnv, ramtea_env: SdkEnv) -> str:  # noqa: F811
    name: str = request.param
    return name


def test_user_key_policy_attach_list_detach_delete(sdk: str, server: ServerProcess) -> None:
    out = run_ram(
        sdk,
        server,
        """
out["user"] = call("CreateUser", UserName=U, DisplayName="Alice", Comments="first", Email="a@example.com", MobilePhone="86-13800138000")
out["dup"] = call("CreateUser", UserName=U)
out["get"] = call("GetUser", UserName=U)
out["update"] = call("UpdateUser", UserName=U, NewComments="changed")
out["key"] = call("CreateAccessKey", UserName=U)
kid = out["key"]["ok"]["AccessKey"]["AccessKeyId"]
out["keys"] = call("ListAccessKeys", UserName=U)
out["off"] = call("UpdateAccessKey", UserName=U, UserAccessKeyId=kid, Status="Inactive")
out["keys_off"] = call("ListAccessKeys", UserName=U)
out["policy"] = call("CreatePolicy", PolicyName=P, PolicyDocument=SEND, Description="send")
out["policy_dup"] = call("CreatePolicy", PolicyName=P, PolicyDocument=SEND)
out["attach"] = call("AttachPolicyToUser", UserName=U, PolicyName=P, PolicyType="Custom")
out["attach_sys"] = call("AttachPolicyToUser", UserName=U, PolicyName="AliyunMNSReadOnlyAccess", PolicyType="System")
out["for_user"] = call("ListPoliciesForUser", UserName=U)
out["entities"] = call("ListEntitiesForPolicy", PolicyName=P, PolicyType="Custom")
out["get_policy"] = call("GetPolicy", PolicyName=P, PolicyType="Custom")
out["v2"] = call("CreatePolicyVersion", PolicyName=P, PolicyDocument=SEND2, SetAsDefault=True)
out["versions"] = call("ListPolicyVersions", PolicyName=P, PolicyType="Custom")
out["v1"] = call("GetPolicyVersion", PolicyName=P, PolicyType="Custom", VersionId="v1")
out["back"] = call("SetDefaultPolicyVersion", PolicyName=P, VersionId="v1")
out["del_v2"] = call("DeletePolicyVersion", PolicyName=P, VersionId="v2")
out["in_use"] = call("DeletePolicy", PolicyName=P)
out["has_keys"] = call("DeleteUser", UserName=U)
out["detach"] = call("DetachPolicyFromUser", UserName=U, PolicyName=P, PolicyType="Custom")
out["detach_sys"] = call("DetachPolicyFromUser", UserName=U, PolicyName="AliyunMNSReadOnlyAccess", PolicyType="System")
out["detach_again"] = call("DetachPolicyFromUser", UserName=U, PolicyName=P, PolicyType="Custom")
out["del_key"] = call("DeleteAccessKey", UserName=U, UserAccessKeyId=kid)
out["del_user"] = call("DeleteUser", UserName=U)
out["gone"] = call("GetUser", UserName=U)
out["del_policy"] = call("DeletePolicy", PolicyName=P)
out["policy_gone"] = call("GetPolicy", PolicyName=P, PolicyType="Custom")
""",
        U=f"{sdk}-alice",
        P=f"{sdk}-send",
        SEND=SEND,
        SEND2=SEND2,
    )
    user = out["user"]["ok"]["User"]
    assert user["UserName"] == f"{sdk}-alice" and user["DisplayName"] == "Alice" and user["UserId"].isdigit()
    assert user["Email"] == "a@example.com" and user["MobilePhone"] == "86-13800138000"
    assert re.match(ISO, user["CreateDate"]), user
    assert out["dup"]["error"] == "EntityAlreadyExists.User" and out["dup"]["status"] == 409
    assert out["get"]["ok"]["User"]["UserId"] == user["UserId"]
    assert out["update"]["ok"]["User"]["Comments"] == "changed"
    assert out["update"]["ok"]["User"]["DisplayName"] == "Alice"  # absent: unchanged
    key = out["key"]["ok"]["AccessKey"]
    assert key["Status"] == "Active" and len(key["AccessKeySecret"]) == 30 and re.match(ISO, key["CreateDate"])
    (listed,) = out["keys"]["ok"]["AccessKeys"]["AccessKey"]
    assert listed["AccessKeyId"] == key["AccessKeyId"] and "AccessKeySecret" not in listed
    assert out["keys_off"]["ok"]["AccessKeys"]["AccessKey"][0]["Status"] == "Inactive"
    policy = out["policy"]["ok"]["Policy"]
    assert (policy["PolicyName"], policy["PolicyType"], policy["DefaultVersion"], policy["Description"]) == (
        f"{sdk}-send",
        "Custom",
        "v1",
        "send",
    )
    assert out["policy_dup"]["error"] == "EntityAlreadyExists.Policy" and out["policy_dup"]["status"] == 409
    assert "ok" in out["attach"] and "ok" in out["attach_sys"]
    attached = {(p["PolicyName"], p["PolicyType"]) for p in out["for_user"]["ok"]["Policies"]["Policy"]}
    assert attached == {(f"{sdk}-send", "Custom"), ("AliyunMNSReadOnlyAccess", "System")}
    entities = out["entities"]["ok"]
    assert [u["UserName"] for u in entities["Users"]["User"]] == [f"{sdk}-alice"]
    assert entities["Groups"]["Group"] == [] and entities["Roles"]["Role"] == []
    got = out["get_policy"]["ok"]
    assert got["Policy"]["AttachmentCount"] == 1
    assert json.loads(got["DefaultPolicyVersion"]["PolicyDocument"]) == json.loads(SEND)
    assert got["DefaultPolicyVersion"]["IsDefaultVersion"] is True
    v2 = out["v2"]["ok"]["PolicyVersion"]
    assert v2["VersionId"] == "v2" and v2["IsDefaultVersion"] is True
    versions = {v["VersionId"]: v["IsDefaultVersion"] for v in out["versions"]["ok"]["PolicyVersions"]["PolicyVersion"]}
    assert versions == {"v1": False, "v2": True}
    assert json.loads(out["v1"]["ok"]["PolicyVersion"]["PolicyDocument"]) == json.loads(SEND)
    assert "ok" in out["back"] and "ok" in out["del_v2"]
    assert out["in_use"]["error"] == "DeleteConflict.Policy.User" and out["in_use"]["status"] == 409
    assert out["has_keys"]["error"].startswith("DeleteConflict.User.") and out["has_keys"]["status"] == 409
    assert "ok" in out["detach"] and "ok" in out["detach_sys"]
    assert out["detach_again"]["error"] == "EntityNotExist.User.Policy" and out["detach_again"]["status"] == 404
    assert "ok" in out["del_key"] and "ok" in out["del_user"] and "ok" in out["del_policy"]
    assert out["gone"]["error"] == "EntityNotExist.User" and out["gone"]["status"] == 404
    assert out["policy_gone"]["error"] == "EntityNotExist.Policy" and out["policy_gone"]["status"] == 404


def test_groups_roles_and_paging(sdk: str, server: ServerProcess) -> None:
    out = run_ram(
        sdk,
        server,
        """
for i in range(3):
    call("CreateUser", UserName=PREFIX + "u" + str(i))
out["page1"] = call("ListUsers", MaxItems=2)
out["page2"] = call("ListUsers", MaxItems=1000, Marker=out["page1"]["ok"]["Marker"])
out["group"] = call("CreateGroup", GroupName=PREFIX + "g", Comments="team")
out["add"] = call("AddUserToGroup", UserName=PREFIX + "u0", GroupName=PREFIX + "g")
out["add_again"] = call("AddUserToGroup", UserName=PREFIX + "u0", GroupName=PREFIX + "g")
out["groups_for_user"] = call("ListGroupsForUser", UserName=PREFIX + "u0")
out["users_for_group"] = call("ListUsersForGroup", GroupName=PREFIX + "g")
out["update_group"] = call("UpdateGroup", GroupName=PREFIX + "g", NewComments="renamed team")
out["group_busy"] = call("DeleteGroup", GroupName=PREFIX + "g")
out["remove"] = call("RemoveUserFromGroup", UserName=PREFIX + "u0", GroupName=PREFIX + "g")
out["get_group"] = call("GetGroup", GroupName=PREFIX + "g")
out["groups"] = call("ListGroups")
out["del_group"] = call("DeleteGroup", GroupName=PREFIX + "g")
out["role"] = call("CreateRole", RoleName=PREFIX + "role", AssumeRolePolicyDocument=TRUST, Description="flows", MaxSessionDuration=7200)
out["bad_trust"] = call("CreateRole", RoleName=PREFIX + "bad", AssumeRolePolicyDocument='{"Version": "1"')
out["long"] = call("CreateRole", RoleName=PREFIX + "long", AssumeRolePolicyDocument=TRUST, MaxSessionDuration=50000)
out["attach"] = call("AttachPolicyToRole", RoleName=PREFIX + "role", PolicyName="AliyunMNSFullAccess", PolicyType="System")
out["for_role"] = call("ListPoliciesForRole", RoleName=PREFIX + "role")
out["role_busy"] = call("DeleteRole", RoleName=PREFIX + "role")
out["update_role"] = call("UpdateRole", RoleName=PREFIX + "role", NewDescription="runs flows", NewMaxSessionDuration=3600)
out["get_role"] = call("GetRole", RoleName=PREFIX + "role")
out["roles"] = call("ListRoles")
out["sys"] = call("ListPolicies", PolicyType="System", MaxItems=3)
out["sys_policy"] = call("GetPolicy", PolicyName="AliyunMNSFullAccess", PolicyType="System")
out["detach"] = call("DetachPolicyFromRole", RoleName=PREFIX + "role", PolicyName="AliyunMNSFullAccess", PolicyType="System")
out["del_role"] = call("DeleteRole", RoleName=PREFIX + "role")
out["role_gone"] = call("GetRole", RoleName=PREFIX + "role")
out["alias"] = call("GetAccountAlias")
for i in range(3):
    call("DeleteUser", UserName=PREFIX + "u" + str(i))
""",
        PREFIX=f"{sdk}-pg-",
        TRUST=TRUST,
    )
    page1, page2 = out["page1"]["ok"], out["page2"]["ok"]
    assert len(page1["Users"]["User"]) == 2 and page1["IsTruncated"] is True
    names = [u["UserName"] for u in page1["Users"]["User"] + page2["Users"]["User"]]
    assert {f"{sdk}-pg-u{i}" for i in range(3)} <= set(names) and len(names) == len(set(names))
    assert page2["IsTruncated"] is False
    assert out["group"]["ok"]["Group"]["GroupName"] == f"{sdk}-pg-g"
    assert out["add_again"]["error"] == "EntityAlreadyExists.User.Group"
    (joined,) = out["groups_for_user"]["ok"]["Groups"]["Group"]
    assert joined["GroupName"] == f"{sdk}-pg-g" and "JoinDate" in joined
    assert [u["UserName"] for u in out["users_for_group"]["ok"]["Users"]["User"]] == [f"{sdk}-pg-u0"]
    assert out["update_group"]["ok"]["Group"]["Comments"] == "renamed team"
    assert out["group_busy"]["error"] == "DeleteConflict.Group.User"
    assert out["get_group"]["ok"]["Group"]["Comments"] == "renamed team"
    assert f"{sdk}-pg-g" in [g["GroupName"] for g in out["groups"]["ok"]["Groups"]["Group"]]
    assert "ok" in out["del_group"]
    role = out["role"]["ok"]["Role"]
    assert role["Arn"] == f"acs:ram::1234567890123456:role/{sdk}-pg-role" and role["MaxSessionDuration"] == 7200
    assert json.loads(role["AssumeRolePolicyDocument"]) == json.loads(TRUST)
    assert out["bad_trust"]["error"] == "MalformedPolicyDocument" and out["bad_trust"]["status"] == 400
    assert out["long"]["error"].startswith("InvalidParameter.MaxSessionDuration") and out["long"]["status"] == 400
    assert [p["PolicyName"] for p in out["for_role"]["ok"]["Policies"]["Policy"]] == ["AliyunMNSFullAccess"]
    assert out["role_busy"]["error"] == "DeleteConflict.Role.Policy"
    updated = out["update_role"]["ok"]["Role"]
    assert updated["Description"] == "runs flows" and updated["MaxSessionDuration"] == 3600
    assert out["get_role"]["ok"]["Role"]["Description"] == "runs flows"
    listed = {r["RoleName"]: r for r in out["roles"]["ok"]["Roles"]["Role"]}
    assert "AssumeRolePolicyDocument" not in listed[f"{sdk}-pg-role"]
    sys = out["sys"]["ok"]
    assert len(sys["Policies"]["Policy"]) == 3 and sys["IsTruncated"] is True
    assert {p["PolicyType"] for p in sys["Policies"]["Policy"]} == {"System"}
    assert "mns:*" in out["sys_policy"]["ok"]["DefaultPolicyVersion"]["PolicyDocument"]
    assert "ok" in out["detach"] and "ok" in out["del_role"]
    assert out["role_gone"]["error"] == "EntityNotExist.Role" and out["role_gone"]["status"] == 404
    assert out["alias"]["ok"]["AccountAlias"] == "1234567890123456"


def test_parameters_the_server_does_not_implement_are_refused(sdk: str, server: ServerProcess) -> None:
    tag = (
        'call("CreatePolicy", PolicyName=PREFIX + "t", PolicyDocument=SEND, Tag=[{"Key": "k", "Value": "v"}])'
        if sdk == "ramtea"
        else 'call("CreatePolicy", PolicyName=PREFIX + "t", PolicyDocument=SEND, _extra={"Tag.1.Key": "k", "Tag.1.Value": "v"})'
    )
    out = run_ram(
        sdk,
        server,
        f"""
out["tag"] = {tag}
out["not_created"] = call("GetPolicy", PolicyName=PREFIX + "t", PolicyType="Custom")
out["bad_type"] = call("ListPolicies", PolicyType="Managed")
out["bad_items"] = call("ListUsers", MaxItems=5000)
""",
        PREFIX=f"{sdk}-refuse-",
        SEND=SEND,
    )
    assert out["tag"]["status"] == 400 and out["tag"]["error"] == "InvalidParameter", out["tag"]
    assert "tags are not supported" in out["tag"]["message"]
    assert out["not_created"]["error"] == "EntityNotExist.Policy"
    assert out["bad_type"]["status"] == 400 and out["bad_type"]["error"].startswith("InvalidParameter.PolicyType")
    assert out["bad_items"]["status"] == 400 and out["bad_items"]["error"].startswith("InvalidParameter.MaxItems")


TEA_WITHOUT_ENDPOINT = """
import os
from alibabacloud_ram20150501.client import Client
from alibabacloud_ram20150501 import models as m
from alibabacloud_tea_openapi.utils_models import Config
client = Client(Config(access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
                       access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"], region_id="cn-hangzhou"))
print(client.get_user(m.GetUserRequest(user_name="nobody-" + os.environ["N"])).body)
"""


def test_the_tea_client_reaches_the_server_through_tidegate_env_alone(
    server: ServerProcess,
    ramtea_env: SdkEnv,  # noqa: F811
) -> None:
    """No endpoint in the program: the shim `tidegate env` puts on PYTHONPATH sends it to the server."""
    env = {
        "PYTHONPATH": str(SHIM_DIR),
        "TIDEGATE_ENDPOINT": server.url,
        "ALIBABA_CLOUD_ACCESS_KEY_ID": TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"],
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET": TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"],
        "N": "shim",
    }
    proc = run_in_env("ramtea", TEA_WITHOUT_ENDPOINT, env=env, timeout=60)
    # The server answered (a RAM error of this server, not a connection to ram.aliyuncs.com).
    assert proc.returncode != 0 and "EntityNotExist.User" in proc.stderr, proc.stderr
