"""Roles the server acts as for a service: a flow's execution role and a function service's role.

A flow names its execution role by ARN (``RoleArn``); the role must be of this account, exist, and trust
the workflow service (``fnf.aliyuncs.com``) in its trust policy. A flow without one runs as the
**default execution role**, :data:`DEFAULT_EXECUTION_ROLE`, which every server creates at start when it
is absent, with the System policies the console attaches to the role it generates
(:data:`DEFAULT_EXECUTION_POLICIES`). The operator may narrow it: policies are attached only when the role
is created, never again. A function service's role must trust ``fc.aliyuncs.com``.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache

from tidegate.auth.policy import MalformedPolicyDocument, Policy, parse_policy, trusts
from tidegate.errors import AuthError
from tidegate.ram import arns
from tidegate.ram.authorizer import Authorizer, Principal
from tidegate.ram.errors import PolicyAlreadyAttachedToRole, RoleAlreadyExists
from tidegate.ram.model import EntityType, PolicyType, Role
from tidegate.ram.service import RamService

__all__ = [
    "DEFAULT_EXECUTION_POLICIES",
    "DEFAULT_EXECUTION_ROLE",
    "FC_SERVICE",
    "FNF_SERVICE",
    "MAX_ROLE_ARN",
    "RoleNotUsable",
    "ensure_default_execution_role",
    "service_principal",
    "service_role",
    "service_trust_policy",
]

#: The principal names of the services that assume roles.
FNF_SERVICE = "fnf.aliyuncs.com"
FC_SERVICE = "fc.aliyuncs.com"
#: The role a flow without a RoleArn runs as (created at server start when absent).
DEFAULT_EXECUTION_ROLE = "fnf-execution-default-role"
#: The System policies attached to the default execution role when it is created: invoke functions,
#: send to queues and topics, start child flows.
DEFAULT_EXECUTION_POLICIES = ("AliyunFCInvocationAccess", "AliyunMNSFullAccess", "AliyunFnFFullAccess")
#: The longest RoleArn accepted (``acs:ram::`` + a 64-character account + ``:role/`` + a 64-character name).
MAX_ROLE_ARN = 256

log = logging.getLogger("tidegate.auth")


class RoleNotUsable(AuthError):
    """The role cannot be used."""

    code = "InvalidArgument"


def service_trust_policy(*services: str) -> str:
    """A trust policy that lets ``services`` assume the role."""
    statement = {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": list(services)}}
    return json.dumps({"Statement": [statement], "Version": "1"})


@lru_cache(maxsize=256)
def _trust(text: str) -> Policy | None:
    try:
        return parse_policy(text, trust=True)
    except MalformedPolicyDocument:  # stored before a stricter parser: it trusts nobody
        return None


def service_role(authorizer: Authorizer, role_arn: str, service: str, *, what: str = "RoleArn") -> Role:
    """The role ``role_arn`` names, checked usable by ``service`` (cached lookups only).

    ``role_arn`` must be ``acs:ram::ACCOUNT:role/NAME`` (at most :data:`MAX_ROLE_ARN` characters, ``role``
    in any case) of this server's account, name an existing role, and that role's trust policy must
    trust ``service``.

    Raises:
        RoleNotUsable: with a message that says which of these fails.
    """
    shown = role_arn[:120] + ("…" if len(role_arn) > 120 else "")
    parsed = arns.parse_role_arn(role_arn) if len(role_arn) <= MAX_ROLE_ARN else None
    if parsed is None:
        raise RoleNotUsable(
            f"The {what} {shown!r} is not valid: use acs:ram::ACCOUNT:role/NAME (at most {MAX_ROLE_ARN} characters)."
        )
    if parsed.account != authorizer.account_id:
        raise RoleNotUsable(
            f"The {what} {shown} names a role of the account {parsed.account[:64]}; "
            f"roles of this account are acs:ram::{authorizer.account_id}:role/NAME."
        )
    role = authorizer.find_role(parsed.role)
    if role is None:
        raise RoleNotUsable(f"The {what} {shown} names a role that does not exist.")
    trust = _trust(role.trust_policy)
    if trust is None or not trusts(trust, "Service", service):
        raise RoleNotUsable(
            f"The role {role.arn} does not trust {service}: its trust policy must allow sts:AssumeRole "
            f'to {{"Service": ["{service}"]}}.'
        )
    return role


def service_principal(authorizer: Authorizer, role_arn: str, service: str, session_name: str) -> Principal:
    """The principal of a session of ``role_arn`` that the server assumes for ``service``.

    Raises:
        RoleNotUsable: see :func:`service_role`.
    """
    role = service_role(authorizer, role_arn, service)
    return authorizer.role_principal(role.arn, session_name)


def ensure_default_execution_role(ram: RamService) -> bool:
    """Create :data:`DEFAULT_EXECUTION_ROLE` with its policies unless the role exists; return whether created.

    Safe when several servers sharing a store start at once: one creates the role and attaches the
    policies, the others find it. An existing role is left as it is (the operator may have narrowed it).
    """
    try:
        ram.create_role(
            DEFAULT_EXECUTION_ROLE,
            service_trust_policy(FNF_SERVICE),
            description="The execution role of flows without a RoleArn (created by tidegate).",
        )
    except RoleAlreadyExists:
        return False
    for policy in DEFAULT_EXECUTION_POLICIES:
        try:
            ram.attach_policy(EntityType.ROLE, DEFAULT_EXECUTION_ROLE, str(PolicyType.SYSTEM), policy)
        except PolicyAlreadyAttachedToRole:
            pass
    log.info(
        "created the default execution role %s (%s)", DEFAULT_EXECUTION_ROLE, ", ".join(DEFAULT_EXECUTION_POLICIES)
    )
    return True
