"""The deploy file's services (a role per function service), flows' role by name and httpTrigger authType."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO
from tidegate.deploy import DeployFileError, load_deploy_file
from tidegate.deploy.spec import ServiceDecl


def test_the_examples_declare_their_roles() -> None:
    topic = load_deploy_file(REPO / "examples" / "topic-callback" / "deploy.yaml")
    assert topic.services == (ServiceDecl(name="fnf-demo", role="fnf-demo-callback"),)
    (role,) = topic.ram.roles
    assert role.name == "fnf-demo-callback" and "fc.aliyuncs.com" in role.trust_policy
    queue = load_deploy_file(REPO / "examples" / "queue-callback" / "deploy.yaml")
    (flow,) = queue.flows
    assert (flow.role, flow.role_arn) == ("fnf-demo-queue-flow", "")
    (policy,) = queue.ram.policies
    assert "mns:SendMessage" in policy.document and "/queues/fnf-demo/messages" in policy.document


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "code").mkdir(exist_ok=True)
    path = tmp_path / "d.yaml"
    path.write_text(text)
    return path


def test_services_auth_type_and_flow_roles(tmp_path: Path) -> None:
    plan = load_deploy_file(
        _write(
            tmp_path,
            """
services:
  svc: {role: "acs:ram::1:role/r", description: the service}
functions:
  svc/web: {code: code, httpTrigger: {methods: [GET], authType: function}}
flows:
  f: {definition: "version: v1", role: runner}
""",
        )
    )
    assert plan.services == (ServiceDecl(name="svc", role="acs:ram::1:role/r", description="the service"),)
    assert plan.functions[0].body["http_trigger"] == {"methods": ["GET"], "auth_type": "function"}
    assert plan.flows[0].role == "runner"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("services: {svc: {roles: r}}", "services.svc: unknown keys ['roles']"),
        ("services: {svc: {role: [r]}}", "services.svc.role: expected a string"),
        ("functions: {s/f: {code: code, httpTrigger: {auth: function}}}", "httpTrigger: unknown keys ['auth']"),
        ("functions: {s/f: {code: code, httpTrigger: {authType: 1}}}", "authType: expected anonymous or function"),
        ("flows: {f: {definition: x, role: a, roleArn: b}}", "at most one of 'role'"),
    ],
)
def test_mistakes_name_the_place(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DeployFileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_deploy_file(_write(tmp_path, text))
