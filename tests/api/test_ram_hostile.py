"""Hostile input to the RAM API, in process: every refusal is a RAM error in the RPC error body, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.test_rpc_protocol import signed


def ram(client: httpx.Client, action: str, **params: Any) -> httpx.Response:
    return client.post("/", data=signed({"Action": action, "Version": "2015-05-01", **params}, method="POST"))


@pytest.mark.parametrize(
    ("action", "params", "status", "code"),
    [
        ("CreateUser", {"UserName": "x" * 5000}, 400, "InvalidParameter.UserName.Length"),
        ("CreateUser", {"UserName": "bad name"}, 400, "InvalidParameter.UserName.InvalidChars"),
        ("CreateUser", {"UserName": "ü\u202e"}, 400, "InvalidParameter.UserName.InvalidChars"),
        ("CreateUser", {}, 400, "MissingRequiredParams"),
        ("CreateUser", {"UserName": "u", "Email": "not-an-address"}, 400, "InvalidParameter.Email.Format"),
        ("ListUsers", {"MaxItems": "abc"}, 400, "InvalidParameter.MaxItems.Format"),
        ("ListUsers", {"MaxItems": "0"}, 400, "InvalidParameter.MaxItems.Range"),
        ("ListUsers", {"MaxItems": "9" * 40}, 400, "InvalidParameter.MaxItems.Format"),
        ("ListPolicies", {"Marker": "Nonsense:zzz"}, 400, "InvalidParameter.Marker.Format"),
        (
            "CreatePolicy",
            {"PolicyName": "p", "PolicyDocument": "{" * 10000},
            400,
            "InvalidParameter.PolicyDocument.Length",
        ),
        (
            "CreatePolicy",
            {"PolicyName": "p", "PolicyDocument": '{"Version": "1", "Statement": 7}'},
            400,
            "MalformedPolicyDocument",
        ),
        ("CreatePolicyVersion", {"PolicyName": "p", "PolicyDocument": "{}", "RotateStrategy": "Sometimes"}, 400, ""),
        (
            "CreatePolicyVersion",
            {"PolicyName": "p", "PolicyDocument": "{}", "SetAsDefault": "maybe"},
            400,
            "InvalidArgument",
        ),
        ("GetPolicyVersion", {"PolicyName": "p", "PolicyType": "Custom", "VersionId": "v0"}, 400, ""),
        ("CreateRole", {"RoleName": "r", "AssumeRolePolicyDocument": "{}", "MaxSessionDuration": "1e9"}, 400, ""),
        ("AttachPolicyToUser", {"UserName": "u", "PolicyName": "p", "PolicyType": "Managed"}, 400, ""),
        (
            "AttachPolicyToUser",
            {"UserName": "u", "PolicyName": "p", "PolicyType": "Custom", "ResourceGroupId": "rg"},
            400,
            "InvalidParameter",
        ),
        (
            "CreateRole",
            {"RoleName": "r", "AssumeRolePolicyDocument": "{}", "AllowConsoleLogin": "true"},
            400,
            "InvalidParameter",
        ),
        ("GetUser", {"UserName": "nobody", "Colour": "blue"}, 400, "InvalidParameter"),
        ("UpdatePolicyDescription", {"PolicyName": "p", "NewDescription": "d"}, 400, "ActionNotSupported"),
        ("DeletePolicy", {"PolicyName": "AdministratorAccess"}, 403, "NoPermission.SystemPolicy"),
    ],
)
def test_refusals_are_ram_errors(
    app_client: httpx.Client, action: str, params: dict[str, str], status: int, code: str
) -> None:
    r = ram(app_client, action, **params)
    body = r.json()
    assert r.status_code == status, body
    assert set(body) == {"RequestId", "HostId", "Code", "Message"} and body["Message"]
    assert body["Code"].startswith(code or "InvalidParameter"), body


def test_an_unsupported_parameter_is_named_and_nothing_is_done(app_client: httpx.Client) -> None:
    r = ram(app_client, "CreateUser", UserName="tagged", **{"Tag.1.Key": "k", "Tag.1.Value": "v"})
    assert r.status_code == 400 and "Tag.1.Key" in r.json()["Message"] and "tags" in r.json()["Message"]
    assert ram(app_client, "GetUser", UserName="tagged").json()["Code"] == "EntityNotExist.User"
