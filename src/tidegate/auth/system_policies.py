"""The system policies: the policies every account has, that nobody writes or changes (as in RAM).

Their documents are Alibaba Cloud's, as its RAM reference publishes them (the services tidegate implements:
Serverless Workflow ``fnf``, MNS ``mns``, Function Compute ``fc``, RAM ``ram`` and STS ``sts``). Names are
case-sensitive, as RAM's policy names are: ``system_policy("aliyunfnffullaccess")`` is refused with a hint.
All are parsed when this module is imported, so a wrong document fails at once, not when first attached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from tidegate.auth.policy import Policy, parse_policy
from tidegate.errors import AuthError

__all__ = ["SYSTEM_POLICIES", "NoSuchSystemPolicy", "SystemPolicy", "system_policy"]


class NoSuchSystemPolicy(AuthError):
    """The system policy does not exist."""

    code = "EntityNotExist.Policy"


@dataclass(frozen=True, slots=True)
class SystemPolicy:
    """One system policy: its name, RAM's description of it, its document and the parsed document."""

    name: str
    description: str
    document: str
    policy: Policy


def _allow(*actions: str, condition: str = "") -> str:
    listed = ", ".join(f'"{a}"' for a in actions)
    action = listed if len(actions) == 1 else f"[{listed}]"
    extra = f', "Condition": {condition}' if condition else ""
    return f'{{"Action": {action}, "Resource": "*", "Effect": "Allow"{extra}}}'


def _document(*statements: str) -> str:
    return '{"Version": "1", "Statement": [' + ", ".join(statements) + "]}"


def _pass_role(service: str) -> str:
    return _allow("ram:PassRole", condition=f'{{"StringEquals": {{"acs:Service": "{service}"}}}}')


_DEFINITIONS: tuple[tuple[str, str, str], ...] = (
    ("AdministratorAccess", "Provides full access to Alibaba Cloud services and resources.", _document(_allow("*"))),
    (
        "AliyunFnFFullAccess",
        "Provides full access to Function Flow via Management Console.",
        _document(_allow("fnf:*"), _pass_role("fnf.aliyuncs.com")),
    ),
    (
        "AliyunFnFReadOnlyAccess",
        "Provides read-only access to Function Flow via Management Console.",
        _document(_allow("fnf:Describe*", "fnf:List*", "fnf:Get*")),
    ),
    (
        "AliyunMNSFullAccess",
        "Provides full access to Message Service via Management Console.",
        _document(_allow("mns:*")),
    ),
    (
        "AliyunMNSReadOnlyAccess",
        "Provides read-only access to Message Service via Management Console.",
        _document(_allow("mns:Get*", "mns:Query*", "mns:Desc*", "mns:List*")),
    ),
    (
        "AliyunFCFullAccess",
        "Provides full access to Function Compute via Management Console.",
        _document(_allow("fc:*"), _pass_role("fc.aliyuncs.com")),
    ),
    (
        "AliyunFCReadOnlyAccess",
        "Provides read-only access to Function Compute via Management Console.",
        _document(_allow("fc:Get*", "fc:List*")),
    ),
    (
        "AliyunFCInvocationAccess",
        "Provides invocation access to Function Compute via Management Console.",
        _document(_allow("fc:InvokeFunction")),
    ),
    (
        "AliyunRAMFullAccess",
        "Provides full access to Resource Access Management(RAM) via Management Console.",
        _document(_allow("ram:*")),
    ),
    (
        "AliyunRAMReadOnlyAccess",
        "Provides read-only access to Resource Access Management(RAM) via Management Console.",
        _document(
            _allow("ram:Get*", "ram:List*", "ram:GenerateCredentialReport"),
            _allow("accessanalyzer:Get*", "accessanalyzer:List*"),
        ),
    ),
    (
        "AliyunSTSAssumeRoleAccess",
        "Provides access to the API AssumeRole of Security Token Service(STS).",
        _document(_allow("sts:AssumeRole")),
    ),
)

#: Every system policy, by name.
SYSTEM_POLICIES: Mapping[str, SystemPolicy] = MappingProxyType(
    {name: SystemPolicy(name, description, text, parse_policy(text)) for name, description, text in _DEFINITIONS}
)
_BY_FOLDED = {name.casefold(): name for name in SYSTEM_POLICIES}


def system_policy(name: str) -> SystemPolicy:
    """The system policy called ``name`` (case-sensitive).

    Raises:
        NoSuchSystemPolicy: no system policy has that name.
    """
    found = SYSTEM_POLICIES.get(name)
    if found is not None:
        return found
    hint = _BY_FOLDED.get(name.casefold())
    if hint is not None:
        raise NoSuchSystemPolicy(f"The system policy {name[:128]!r} does not exist (names are case-sensitive: {hint}).")
    raise NoSuchSystemPolicy(f"The system policy {name[:128]!r} does not exist.")
