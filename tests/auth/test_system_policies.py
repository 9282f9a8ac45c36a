"""The system policies: all parse, each grants what Alibaba's document grants and no more."""

from __future__ import annotations

import json

import pytest

from tidegate.auth.policy import AccessRequest, Decision, evaluate, parse_policy
from tidegate.auth.system_policies import SYSTEM_POLICIES, NoSuchSystemPolicy, system_policy

REQUIRED = [
    "AdministratorAccess",
    "AliyunFnFFullAccess",
    "AliyunFnFReadOnlyAccess",
    "AliyunMNSFullAccess",
    "AliyunMNSReadOnlyAccess",
    "AliyunFCFullAccess",
    "AliyunFCReadOnlyAccess",
    "AliyunFCInvocationAccess",
    "AliyunRAMFullAccess",
    "AliyunRAMReadOnlyAccess",
    "AliyunSTSAssumeRoleAccess",
]
FLOW = "acs:fnf:cn-hangzhou:1234567890123456:flow/orders"
QUEUE = "acs:mns:cn-hangzhou:1234567890123456:/queues/orders/messages"
FUNCTION = "acs:fc:cn-hangzhou:1234567890123456:services/s/functions/f"
ROLE = "acs:ram::1234567890123456:role/flow-role"


@pytest.mark.parametrize("name", REQUIRED)
def test_each_system_policy_exists_and_its_document_parses_to_the_same_policy(name: str) -> None:
    sp = system_policy(name)
    assert sp.name == name and sp.description
    assert json.loads(sp.document)["Version"] == "1"
    assert parse_policy(sp.document) == sp.policy


def test_the_mapping_holds_exactly_the_required_policies_and_is_read_only() -> None:
    assert sorted(SYSTEM_POLICIES) == sorted(REQUIRED)
    with pytest.raises(TypeError):
        SYSTEM_POLICIES["Mine"] = SYSTEM_POLICIES["AdministratorAccess"]  # type: ignore[index]


def test_unknown_names_are_refused_and_names_are_case_sensitive() -> None:
    with pytest.raises(NoSuchSystemPolicy, match="'NoSuchPolicy' does not exist") as caught:
        system_policy("NoSuchPolicy")
    assert caught.value.code == "EntityNotExist.Policy"
    with pytest.raises(NoSuchSystemPolicy, match="case-sensitive: AliyunFnFFullAccess"):
        system_policy("aliyunfnffullaccess")


def decide(name: str, action: str, resource: str, **context: str) -> Decision:
    ctx = {k.replace("_", ":", 1): (v,) for k, v in context.items()}
    return evaluate([system_policy(name).policy], AccessRequest(action, resource, ctx))


CASES = [
    ("AdministratorAccess", "ram:CreateUser", "acs:ram::1:user/x", Decision.ALLOW),
    ("AliyunFnFFullAccess", "fnf:StartExecution", FLOW, Decision.ALLOW),
    ("AliyunFnFFullAccess", "mns:SendMessage", QUEUE, Decision.IMPLICIT_DENY),
    ("AliyunFnFReadOnlyAccess", "fnf:DescribeFlow", FLOW, Decision.ALLOW),
    ("AliyunFnFReadOnlyAccess", "fnf:ListExecutions", FLOW, Decision.ALLOW),
    ("AliyunFnFReadOnlyAccess", "fnf:GetExecutionHistory", FLOW, Decision.ALLOW),
    ("AliyunFnFReadOnlyAccess", "fnf:StartExecution", FLOW, Decision.IMPLICIT_DENY),
    ("AliyunFnFReadOnlyAccess", "fnf:ReportTaskSucceeded", FLOW, Decision.IMPLICIT_DENY),
    ("AliyunMNSFullAccess", "mns:ReceiveMessage", QUEUE, Decision.ALLOW),
    ("AliyunMNSReadOnlyAccess", "mns:GetQueueAttributes", QUEUE, Decision.ALLOW),
    ("AliyunMNSReadOnlyAccess", "mns:ListQueue", QUEUE, Decision.ALLOW),
    # Receiving (and peeking) consume or reveal messages: not read-only in MNS's sense.
    ("AliyunMNSReadOnlyAccess", "mns:ReceiveMessage", QUEUE, Decision.IMPLICIT_DENY),
    ("AliyunMNSReadOnlyAccess", "mns:PeekMessage", QUEUE, Decision.IMPLICIT_DENY),
    ("AliyunMNSReadOnlyAccess", "mns:SendMessage", QUEUE, Decision.IMPLICIT_DENY),
    ("AliyunFCFullAccess", "fc:CreateFunction", FUNCTION, Decision.ALLOW),
    ("AliyunFCReadOnlyAccess", "fc:GetFunction", FUNCTION, Decision.ALLOW),
    ("AliyunFCReadOnlyAccess", "fc:InvokeFunction", FUNCTION, Decision.IMPLICIT_DENY),
    ("AliyunFCInvocationAccess", "fc:InvokeFunction", FUNCTION, Decision.ALLOW),
    ("AliyunFCInvocationAccess", "fc:GetFunction", FUNCTION, Decision.IMPLICIT_DENY),
    ("AliyunRAMFullAccess", "ram:CreateUser", "acs:ram::1:user/x", Decision.ALLOW),
    ("AliyunRAMFullAccess", "sts:AssumeRole", ROLE, Decision.IMPLICIT_DENY),
    ("AliyunRAMReadOnlyAccess", "ram:GetUser", "acs:ram::1:user/x", Decision.ALLOW),
    ("AliyunRAMReadOnlyAccess", "ram:ListPolicies", "*", Decision.ALLOW),
    ("AliyunRAMReadOnlyAccess", "ram:CreateUser", "acs:ram::1:user/x", Decision.IMPLICIT_DENY),
    ("AliyunSTSAssumeRoleAccess", "sts:AssumeRole", ROLE, Decision.ALLOW),
    ("AliyunSTSAssumeRoleAccess", "ram:PassRole", ROLE, Decision.IMPLICIT_DENY),
]


@pytest.mark.parametrize(("name", "action", "resource", "expected"), CASES)
def test_what_each_system_policy_grants(name: str, action: str, resource: str, expected: Decision) -> None:
    assert decide(name, action, resource) is expected


def test_full_access_passes_roles_only_to_its_own_service() -> None:
    # AliyunFnFFullAccess (v2) and AliyunFCFullAccess grant ram:PassRole when acs:Service names the service.
    assert decide("AliyunFnFFullAccess", "ram:PassRole", ROLE, acs_Service="fnf.aliyuncs.com") is Decision.ALLOW
    assert decide("AliyunFnFFullAccess", "ram:PassRole", ROLE, acs_Service="fc.aliyuncs.com") is Decision.IMPLICIT_DENY
    assert decide("AliyunFnFFullAccess", "ram:PassRole", ROLE) is Decision.IMPLICIT_DENY
    assert decide("AliyunFCFullAccess", "ram:PassRole", ROLE, acs_Service="fc.aliyuncs.com") is Decision.ALLOW
