"""Each protocol's hook, in process: the REST API, the console and ``/metrics`` ask the authorizer as the
request's identity (a RAM user created with RamService on the app's store); denials are 403 in each
protocol's own error document; the root key keeps full access."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.inprocess import TEST_AUTH, in_process
from tidegate.api.context import AppContext
from tidegate.ram.model import EntityType
from tidegate.ram.service import RamService
from tidegate.ram.service_roles import service_trust_policy

FLOW = "version: v1\ntype: flow\nsteps:\n  - type: pass\n    name: p\n"
ROLE = "acs:ram::1234567890123456:role/fnf-exec"


def _policy(*statements: tuple[list[str], str]) -> str:
    body = [{"Effect": "Allow", "Action": actions, "Resource": resource} for actions, resource in statements]
    return json.dumps({"Version": "1", "Statement": body})


@dataclass(frozen=True)
class Setup:
    """The app's client and the keys (id, secret) of its users."""

    client: httpx.Client
    reader: tuple[str, str]
    flows_admin: tuple[str, str]
    scraper: tuple[str, str]


@pytest.fixture
def setup(app_ctx: AppContext) -> Iterator[Setup]:
    ram = RamService(app_ctx.store, app_ctx.keyring, account_id=app_ctx.account_id)
    keys = {}
    grants = {
        "reader": [("System", "AliyunFnFReadOnlyAccess"), ("System", "AliyunMNSReadOnlyAccess")],
        "flows-admin": [("Custom", "fnf-all")],
        "scraper": [("Custom", "metrics")],
    }
    ram.create_policy("fnf-all", _policy((["fnf:*"], "*")))
    ram.create_policy("metrics", _policy((["tidegate:GetMetrics"], "*")))
    for user, policies in grants.items():
        ram.create_user(user)
        for kind, name in policies:
            ram.attach_policy(EntityType.USER, user, kind, name)
        key = ram.create_access_key(user)
        keys[user] = (key.key_id, key.secret or "")
    app_ctx.service.create_flow("f", FLOW)
    app_ctx.service.start_execution("f", "e1", None)
    with in_process(app_ctx) as client:
        yield Setup(client, keys["reader"], keys["flows-admin"], keys["scraper"])


def test_rest_reads_and_refuses_changes_as_the_user(setup: Setup) -> None:
    c = setup.client
    assert c.get("/api/v1/flows", auth=setup.reader).status_code == 200
    assert c.get("/api/v1/flows/f/executions/e1", auth=setup.reader).json()["name"] == "e1"
    r = c.post("/api/v1/flows/f/executions", json={"name": "e2"}, auth=setup.reader)
    assert r.status_code == 403
    doc = r.json()
    assert doc["code"] == "AccessDenied" and "fnf:StartExecution" in doc["message"] and doc["request_id"]
    assert c.delete("/api/v1/flows/f", auth=setup.reader).status_code == 403
    assert c.get("/api/v1/flows/f", auth=setup.reader).status_code == 200  # nothing was deleted
    assert c.post("/api/v1/flows/f/executions", json={"name": "e3"}, auth=TEST_AUTH).status_code == 201  # root


def test_setting_a_role_needs_pass_role(setup: Setup, app_ctx: AppContext) -> None:
    c = setup.client
    app_ctx.ram.create_role("fnf-exec", service_trust_policy("fnf.aliyuncs.com"))  # a role flows may run as
    body = {"name": "g", "definition": FLOW, "role_arn": ROLE}
    r = c.post("/api/v1/flows", json=body, auth=setup.flows_admin)
    assert r.status_code == 403 and "ram:PassRole" in r.json()["message"]
    assert c.get("/api/v1/flows/g", auth=TEST_AUTH).status_code == 404  # refused before anything was written
    assert c.post("/api/v1/flows", json={"name": "g", "definition": FLOW}, auth=setup.flows_admin).status_code == 201
    r = c.patch("/api/v1/flows/g", json={"role_arn": ROLE}, auth=setup.flows_admin)
    assert r.status_code == 403 and "ram:PassRole" in r.json()["message"]
    assert c.patch("/api/v1/flows/g", json={"role_arn": ROLE}, auth=TEST_AUTH).status_code == 200


def test_metrics_need_get_metrics(setup: Setup) -> None:
    c = setup.client
    assert c.get("/metrics").status_code == 401
    r = c.get("/metrics", auth=setup.reader)
    assert r.status_code == 403 and r.json()["code"] == "AccessDenied"
    assert c.get("/metrics", auth=setup.scraper).status_code == 200
    assert c.get("/metrics", auth=TEST_AUTH).status_code == 200


def _sign_in(c: httpx.Client, key: tuple[str, str]) -> str:
    r = c.post("/console/api/session", json={"access_key_id": key[0], "access_key_secret": key[1]})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf"])


def test_console_acts_as_the_signed_in_user(setup: Setup) -> None:
    c = setup.client
    csrf = _sign_in(c, setup.reader)
    session = c.get("/console/api/session").json()
    assert session["principal"] == {"arn": "acs:ram::1234567890123456:user/reader", "kind": "user", "name": "reader"}
    assert c.get("/console/api/flows").status_code == 200
    assert c.get("/console/api/flows/f/executions/e1").status_code == 200
    r = c.post("/console/api/flows/f/executions", json={"input": {}}, headers={"x-csrf-token": csrf})
    assert r.status_code == 403 and r.json()["code"] == "AccessDenied"
    r = c.post("/console/api/flows/f/executions/e1/stop", json={}, headers={"x-csrf-token": csrf})
    assert r.status_code == 403
    exec_arn = "acs:fnf:cn-hangzhou:1234567890123456:flows/f/executions/e1"
    checks = [
        {"action": "fnf:DescribeExecution", "resource": exec_arn},
        {"action": "fnf:StopExecution", "resource": exec_arn},
    ]
    r = c.post("/console/api/permissions", json={"checks": checks}, headers={"x-csrf-token": csrf})
    assert [d["allowed"] for d in r.json()["decisions"]] == [True, False]
    too_many = {"checks": checks * 51}
    assert c.post("/console/api/permissions", json=too_many, headers={"x-csrf-token": csrf}).status_code == 400


def test_console_root_may_do_everything(setup: Setup) -> None:
    c = setup.client
    csrf = _sign_in(c, TEST_AUTH)
    assert c.get("/console/api/session").json()["principal"]["kind"] == "root"
    r = c.post("/console/api/flows/f/executions", json={"name": "by-root", "input": {}}, headers={"x-csrf-token": csrf})
    assert r.status_code == 201
    checks = [{"action": "fnf:StopExecution", "resource": "*"}]
    r = c.post("/console/api/permissions", json={"checks": checks}, headers={"x-csrf-token": csrf})
    assert r.json()["decisions"][0]["allowed"] is True
