"""The deploy file's ``ram:`` section: policies and roles parse; its errors name the place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tidegate.deploy import DeployFileError, load_deploy_file
from tidegate.deploy.ram_spec import PolicyRef, PolicyType

SEND = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "mns:SendMessage", "Resource": "*"}]}


def _load(tmp_path: Path, text: str) -> object:
    (tmp_path / "d.yaml").write_text(text)
    return load_deploy_file(tmp_path / "d.yaml")


def test_policies_and_roles_parse(tmp_path: Path) -> None:
    (tmp_path / "send.json").write_text(json.dumps(SEND))
    (tmp_path / "d.yaml").write_text(
        """
ram:
  policies:
    inline: {description: sends, document: {Version: "1", Statement: [{Effect: Allow, Action: "mns:*", Resource: "*"}]}}
    from-file: {documentFile: send.json}
    as-text: {document: '{"Version": "1", "Statement": []}'}
  roles:
    flow-role:
      trust: {services: fnf.aliyuncs.com}
      policies: [inline, AliyunMNSFullAccess, {name: other, type: custom}]
      description: runs flows
      max_session_duration: 7200
    user-role:
      trust: {accounts: ["1234", "acs:ram::1234:user/alice"], services: [fc.aliyuncs.com]}
    custom-trust:
      trustPolicy: {Version: "1", Statement: [{Effect: Allow, Action: "sts:AssumeRole", Principal: {RAM: ["x"]}}]}
"""
    )
    plan = load_deploy_file(tmp_path / "d.yaml")
    inline, from_file, as_text = plan.ram.policies
    assert inline.description == "sends" and json.loads(inline.document)["Statement"][0]["Action"] == "mns:*"
    assert json.loads(from_file.document) == SEND and from_file.description == ""
    assert as_text.document == '{"Version": "1", "Statement": []}'
    flow, user, custom = plan.ram.roles
    assert json.loads(flow.trust_policy)["Statement"][0] == {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": ["fnf.aliyuncs.com"]},
    }
    # A policy the file declares is Custom; another bare name is looked up when applied.
    assert flow.policies == (
        PolicyRef("inline", PolicyType.CUSTOM),
        PolicyRef("AliyunMNSFullAccess", None),
        PolicyRef("other", PolicyType.CUSTOM),
    )
    assert flow.description == "runs flows" and flow.max_session_duration == 7200
    principal = json.loads(user.trust_policy)["Statement"][0]["Principal"]
    assert principal == {"Service": ["fc.aliyuncs.com"], "RAM": ["acs:ram::1234:root", "acs:ram::1234:user/alice"]}
    assert user.max_session_duration is None and user.policies == ()
    assert json.loads(custom.trust_policy)["Statement"][0]["Principal"] == {"RAM": ["x"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ram: {users: {alice: {}}}", "users are not declared in deploy files"),
        ("ram: {groups: {}}", "ram: unknown keys ['groups']"),
        ("ram: {policies: {p: {}}}", "ram.policies.p: 'document' or 'documentFile' is required"),
        ("ram: {policies: {p: {document: '[1]'}}}", "ram.policies.p.document: not a JSON object"),
        ("ram: {policies: {p: {document: 'nope'}}}", "ram.policies.p.document: not a JSON object"),
        ("ram: {policies: {p: {documentFile: missing.json}}}", "ram.policies.p.documentFile: cannot read"),
        ("ram: {policies: {p: {document: {}, documentFile: x}}}", "give one of 'document' and 'documentFile'"),
        ("ram: {policies: {p: {document: {}, effect: Allow}}}", "ram.policies.p: unknown keys ['effect']"),
        ("ram: {roles: {r: {}}}", "ram.roles.r: say who may assume the role"),
        ("ram: {roles: {r: {trust: {}}}}", "ram.roles.r.trust: name 'services' or 'accounts'"),
        ("ram: {roles: {r: {trust: {users: [a]}}}}", "ram.roles.r.trust: unknown keys ['users']"),
        ("ram: {roles: {r: {trust: {services: [1]}}}}", "ram.roles.r.trust.services: expected a name or a list"),
        ("ram: {roles: {r: {trust: {services: s}, trustPolicy: {}}}}", "give one of 'trust' and 'trustPolicy'"),
        ("ram: {roles: {r: {trust: {services: s}, maxSessionDuration: 60}}}", "maxSessionDuration: expected seconds"),
        ("ram: {roles: {r: {trust: {services: s}, policies: p}}}", "ram.roles.r.policies: expected a list"),
        (
            "ram: {roles: {r: {trust: {services: s}, policies: [{name: p, type: Managed}]}}}",
            "expected System or Custom",
        ),
        ("ram: {roles: [r]}", "ram.roles: expected a mapping of names"),
    ],
)
def test_errors_name_the_place(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DeployFileError) as info:
        _load(tmp_path, text)
    assert message in info.value.message
