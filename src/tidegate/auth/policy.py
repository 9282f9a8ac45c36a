"""RAM policy documents and their evaluation: a pure module (no I/O, no clock, no store).

:func:`parse_policy` reads and checks a document (permission policy or a role's trust policy),
:func:`evaluate` decides a request against an identity's policies (narrowed by a session policy), and
:func:`trusts` says whether a trust policy lets a principal assume the role. Wildcards are in
:mod:`~tidegate.auth.policy_match`, condition operators in :mod:`~tidegate.auth.policy_conditions`, the
types in :mod:`~tidegate.auth.policy_model` and the reader in :mod:`~tidegate.auth.policy_parse` (all
public names are imported from here).
The language as tidegate implements it, and how it differs from Alibaba Cloud RAM: docs/policies.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from tidegate.auth.policy_conditions import condition_holds
from tidegate.auth.policy_match import matches
from tidegate.auth.policy_model import (
    ASSUME_ROLE,
    MAX_POLICY_LENGTH,
    MAX_TRUST_POLICY_LENGTH,
    AccessRequest,
    Decision,
    Effect,
    MalformedPolicyDocument,
    Policy,
    PrincipalType,
    Statement,
)
from tidegate.auth.policy_parse import parse_policy

__all__ = [
    "ASSUME_ROLE",
    "MAX_POLICY_LENGTH",
    "MAX_TRUST_POLICY_LENGTH",
    "AccessRequest",
    "Decision",
    "Effect",
    "MalformedPolicyDocument",
    "Policy",
    "PrincipalType",
    "Statement",
    "evaluate",
    "parse_policy",
    "trusts",
]


# --- evaluation -----------------------------------------------------------------------------------------

Context = Mapping[str, tuple[str, ...]]


def _folded(context: Context | None) -> dict[str, tuple[str, ...]]:
    return {key.casefold(): values for key, values in (context or {}).items()}


def _action_applies(stmt: Statement, action: str) -> bool:
    if stmt.actions is not None:
        return any(matches(p, action, ignore_case=True) for p in stmt.actions)
    return not any(matches(p, action, ignore_case=True) for p in stmt.not_actions or ())


def _resource_applies(stmt: Statement, resource: str) -> bool:
    if stmt.resources is not None:
        return any(matches(p, resource) for p in stmt.resources)
    if stmt.not_resources is not None:
        return not any(matches(p, resource) for p in stmt.not_resources)
    return False  # a trust policy's statement grants no access to resources


def _verdict(policies: Iterable[Policy], request: AccessRequest, context: Context) -> Decision:
    """EXPLICIT_DENY, ALLOW (some statement allows) or IMPLICIT_DENY, over ``policies`` alone."""
    allowed = False
    for policy in policies:
        for stmt in policy.statements:
            if stmt.effect is Effect.ALLOW and allowed:
                continue  # already allowed: only a Deny can still change the answer
            if (
                _action_applies(stmt, request.action)
                and _resource_applies(stmt, request.resource)
                and condition_holds(stmt.conditions, context)
            ):
                if stmt.effect is Effect.DENY:
                    return Decision.EXPLICIT_DENY
                allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def evaluate(policies: Iterable[Policy], request: AccessRequest, *, session: Policy | None = None) -> Decision:
    """Evaluate ``request`` against an identity's policies, narrowed by a session policy if any.

    An explicit Deny in any policy (or in ``session``) wins; otherwise the request is allowed when some
    policy allows it and (if ``session`` is given) ``session`` allows it too; otherwise implicit deny.
    """
    context = _folded(request.context)
    identity = _verdict(policies, request, context)
    if identity is Decision.EXPLICIT_DENY or session is None:
        return identity
    narrowed = _verdict((session,), request, context)
    if narrowed is Decision.EXPLICIT_DENY:
        return narrowed
    return Decision.ALLOW if identity is narrowed is Decision.ALLOW else Decision.IMPLICIT_DENY


_RAM_ARN = re.compile(r"acs:ram::(?P<account>[^:]*):(?P<rest>.*)")


def _principal_named(kind: str, entry: str, principal: str) -> bool:
    """Whether trust-policy ``entry`` (of type ``kind``) names ``principal``."""
    if kind == PrincipalType.SERVICE:
        return entry.casefold() == principal.casefold()
    if kind == PrincipalType.RAM:
        arn = _RAM_ARN.fullmatch(principal)
        account = arn["account"] if arn else principal
        if entry == account or entry == f"acs:ram::{account}:root":
            return True  # the account trusts every identity of it: root, its users, its roles' sessions
        if arn and entry.startswith(f"acs:ram::{account}:role/") and arn["rest"].startswith("assumed-role/"):
            role = entry.split(":role/", 1)[1]
            return arn["rest"].split("/")[1] == role  # a session (assumed-role/ROLE/SESSION) of that role
    return entry == principal


def trusts(
    trust: Policy, principal_type: str, principal: str, context: Mapping[str, tuple[str, ...]] | None = None
) -> bool:
    """Whether a role's trust policy lets ``principal`` assume it (``sts:AssumeRole``).

    ``principal_type`` is ``"RAM"`` (``acs:ram::ACCOUNT:root`` or a user ARN ``acs:ram::ACCOUNT:user/NAME``)
    or ``"Service"`` (``fnf.aliyuncs.com``, ``fc.aliyuncs.com``). A Deny statement naming the principal wins
    over any Allow.
    """
    folded = _folded(context)
    allowed = False
    for stmt in trust.statements:
        names = (stmt.principals or {}).get(principal_type, ())
        if (
            any(_principal_named(principal_type, entry, principal) for entry in names)
            and _action_applies(stmt, ASSUME_ROLE)
            and condition_holds(stmt.conditions, folded)
        ):
            if stmt.effect is Effect.DENY:
                return False
            allowed = True
    return allowed
