"""STS: role sessions (``AssumeRole``) and who a caller is (``GetCallerIdentity``).

A role session's credentials are self-contained (:mod:`tidegate.auth.keys`): the security token carries
the role's name and id, the session's name and its session policy, MACed with a key derived from the
root secret. :class:`StsService` decides whether a caller may have them; the authorizer later resolves
the token back to the role's principal (:meth:`tidegate.ram.Authorizer.principal`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache

from tidegate.auth.keys import MAX_SESSION_POLICY, MAX_TEMPORARY_TTL_S, AccessKey, KeyRing
from tidegate.auth.policy import Decision, MalformedPolicyDocument, Policy, parse_policy, trusts
from tidegate.ram.authorizer import Authorizer, Principal, PrincipalKind
from tidegate.ram.sts_errors import (
    EntityNotExistRole,
    InvalidDurationSeconds,
    InvalidExternalId,
    InvalidPolicyGrammar,
    InvalidRoleArn,
    InvalidRoleSessionName,
    MissingRoleArn,
    MissingRoleSessionName,
    NoPermission,
)

__all__ = [
    "DEFAULT_DURATION_S",
    "MIN_DURATION_S",
    "AssumedRole",
    "CallerIdentity",
    "IdentityType",
    "StsService",
    "parse_role_arn",
]

#: AssumeRole's DurationSeconds: at least 15 minutes, by default one hour, at most the role's maximum.
MIN_DURATION_S = 900
DEFAULT_DURATION_S = 3600
#: RoleSessionName: 2 to 64 letters, digits and ``. @ - _``.
_SESSION_NAME = re.compile(r"[A-Za-z0-9.@_-]{2,64}")
#: ExternalId: 2 to 1,224 letters, digits and ``= , . @ : / - _``.
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9=,.@:/_-]{2,1224}")
#: ``acs:ram::ACCOUNT:role/NAME`` (the role part is matched case-insensitively, as RAM does).
_ROLE_ARN = re.compile(r"acs:ram::([0-9A-Za-z_-]{1,64}):role/([^/\s]{1,64})", re.IGNORECASE)
#: Longest RoleArn looked at (longer ones are refused before any parsing).
_MAX_ROLE_ARN = 300


class IdentityType(StrEnum):
    """``GetCallerIdentity``'s IdentityType values."""

    ACCOUNT = "Account"
    RAM_USER = "RAMUser"
    ASSUMED_ROLE_USER = "AssumedRoleUser"


@dataclass(frozen=True, slots=True)
class AssumedRole:
    """The result of assuming a role.

    Attributes:
        key: the temporary AccessKey (id ``STS.…``, secret, security token, expiry).
        arn: ``acs:ram::ACCOUNT:assumed-role/ROLE/SESSION``.
        assumed_role_id: ``ROLEID:SESSION``.
    """

    key: AccessKey
    arn: str
    assumed_role_id: str

    @property
    def expiration(self) -> str:
        """The expiry as STS writes it: ISO 8601 UTC to the second, ``2015-04-09T11:52:19Z``."""
        assert self.key.expires_ms is not None
        return datetime.fromtimestamp(self.key.expires_ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def to_response(self) -> dict[str, object]:
        """The body of STS AssumeRole's answer (without RequestId)."""
        return {
            "Credentials": {
                "AccessKeyId": self.key.id,
                "AccessKeySecret": self.key.secret,
                "SecurityToken": self.key.security_token,
                "Expiration": self.expiration,
            },
            "AssumedRoleUser": {"Arn": self.arn, "AssumedRoleId": self.assumed_role_id},
        }


@dataclass(frozen=True, slots=True)
class CallerIdentity:
    """``GetCallerIdentity``'s fields; ``user_id`` is set for the account and users, ``role_id`` for roles."""

    identity_type: IdentityType
    account_id: str
    arn: str
    principal_id: str
    user_id: str | None = None
    role_id: str | None = None

    def to_response(self) -> dict[str, object]:
        """The body of STS GetCallerIdentity's answer (without RequestId)."""
        body: dict[str, object] = {
            "IdentityType": str(self.identity_type),
            "AccountId": self.account_id,
            "Arn": self.arn,
            "PrincipalId": self.principal_id,
        }
        if self.user_id is not None:
            body["UserId"] = self.user_id
        if self.role_id is not None:
            body["RoleId"] = self.role_id
        return body


def parse_role_arn(role_arn: str, account_id: str) -> str:
    """The role name of ``acs:ram::ACCOUNT:role/NAME``.

    Raises:
        InvalidRoleArn: not a role ARN.
        EntityNotExistRole: a role of another account (this server hosts one account).
    """
    m = _ROLE_ARN.fullmatch(role_arn) if len(role_arn) <= _MAX_ROLE_ARN else None
    if m is None:
        raise InvalidRoleArn(f"The parameter RoleArn is wrongly formed: {role_arn[:100]!r}.")
    if m.group(1) != account_id:
        raise EntityNotExistRole(f"The specified Role not exists: {role_arn[:100]}.")
    return m.group(2)


def _check_session_name(name: str) -> None:
    if not _SESSION_NAME.fullmatch(name):
        raise InvalidRoleSessionName(
            "The parameter RoleSessionName is wrongly formed: 2 to 64 letters, digits and . @ - _ are allowed."
        )


def _check_policy(policy: str | None) -> str | None:
    if policy is None or policy == "":
        return None
    if len(policy) > MAX_SESSION_POLICY:
        raise InvalidPolicyGrammar(f"The parameter Policy is longer than {MAX_SESSION_POLICY} characters.")
    try:
        parse_policy(policy)
    except MalformedPolicyDocument as e:
        raise InvalidPolicyGrammar(f"The parameter Policy has not passed grammar check: {e.message}") from None
    return policy


@lru_cache(maxsize=256)
def _trust(text: str) -> Policy:
    return parse_policy(text, trust=True)


class StsService:
    """AssumeRole and GetCallerIdentity for one account.

    Args:
        authorizer: the server's authorizer (its store holds the roles and users, its keyring issues the
            sessions, its clock says when they expire).
    """

    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer
        self.account_id = authorizer.account_id

    @property
    def keyring(self) -> KeyRing:
        """The server's keys."""
        return self.authorizer.keyring

    def assume_role(
        self,
        caller: Principal,
        role_arn: str,
        session_name: str,
        duration_s: int = DEFAULT_DURATION_S,
        policy: str | None = None,
        context: Mapping[str, tuple[str, ...]] | None = None,
        *,
        external_id: str | None = None,
    ) -> AssumedRole:
        """Issue a session of the role ``role_arn`` to ``caller``.

        The caller needs ``sts:AssumeRole`` on the role's ARN (the account itself always has it) and the
        role's trust policy must trust it (a role trusting ``acs:ram::ACCOUNT:root`` trusts the account
        and its users). ``policy`` narrows the session. ``external_id`` is the condition key
        ``sts:ExternalId`` of the trust policy (2-1,224 of ``[A-Za-z0-9=,.@:/_-]``).

        Raises:
            MissingRoleArn, MissingRoleSessionName, InvalidRoleArn, InvalidRoleSessionName,
            InvalidDurationSeconds, InvalidPolicyGrammar, InvalidExternalId: the parameters.
            NoPermission: no ``sts:AssumeRole`` on the role, or the role does not trust the caller.
            EntityNotExistRole: no such role (checked after the permission, so that callers without it
                learn nothing about which roles exist).
        """
        if not role_arn:
            raise MissingRoleArn()
        if not session_name:
            raise MissingRoleSessionName()
        name = parse_role_arn(role_arn, self.account_id)
        _check_session_name(session_name)
        if not MIN_DURATION_S <= duration_s <= MAX_TEMPORARY_TTL_S:
            raise InvalidDurationSeconds(
                f"The Min/Max value of DurationSeconds is {MIN_DURATION_S}/{MAX_TEMPORARY_TTL_S} seconds."
            )
        policy = _check_policy(policy)
        trust_context = dict(context or {})
        if external_id is not None:
            if not _EXTERNAL_ID.fullmatch(external_id):
                raise InvalidExternalId(
                    "The parameter ExternalId is wrongly formed: 2 to 1224 letters, digits and = , . @ : / - _."
                )
            trust_context["sts:ExternalId"] = (external_id,)
        arn = f"acs:ram::{self.account_id}:role/{name}"
        if self.authorizer.decide(caller, "sts:AssumeRole", arn, context) is not Decision.ALLOW:
            raise NoPermission(f"You are not authorized to do this action. Resource: {arn} Action: sts:AssumeRole")
        role = self.authorizer.find_role(name)
        if role is None:
            raise EntityNotExistRole(f"The specified Role not exists: {arn}.")
        if not trusts(_trust(role.trust_policy), "RAM", caller.arn, trust_context):
            raise NoPermission(
                f"No permission perform sts:AssumeRole on this Role ({role.arn}). "
                "Maybe you should check the role's trust policy."
            )
        if duration_s > role.max_session_s:
            raise InvalidDurationSeconds(
                f"The Min/Max value of DurationSeconds is {MIN_DURATION_S}/{role.max_session_s} "
                f"seconds (the role's MaxSessionDuration)."
            )
        return self._issue(role.name, role.role_id, session_name, duration_s, policy)

    def assume_role_as_service(
        self,
        role_arn: str,
        session_name: str,
        ttl_s: int = DEFAULT_DURATION_S,
        *,
        service: str = "fnf.aliyuncs.com",
    ) -> AssumedRole:
        """The server assumes a role for a service (a flow's execution role, a function's role).

        The role's trust policy must name ``service`` (``{"Principal": {"Service": [...]}}``); the session
        lasts ``ttl_s`` seconds, capped by the role's maximum session duration.

        Raises:
            InvalidRoleArn, EntityNotExistRole: not a role of this account.
            InvalidRoleSessionName: ``session_name`` is not 2-64 of ``[A-Za-z0-9.@_-]``.
            NoPermission: the role does not trust ``service``.
        """
        name = parse_role_arn(role_arn, self.account_id)
        _check_session_name(session_name)
        role = self.authorizer.find_role(name)
        if role is None:
            raise EntityNotExistRole(f"The specified Role not exists: {role_arn[:100]}.")
        if not trusts(_trust(role.trust_policy), "Service", service):
            raise NoPermission(f"The role {role.arn} does not trust the service {service}.")
        ttl = max(1, min(ttl_s, role.max_session_s))
        return self._issue(role.name, role.role_id, session_name, ttl, None)

    def _issue(self, role_name: str, role_id: str, session_name: str, ttl_s: int, policy: str | None) -> AssumedRole:
        now = self.authorizer.clock() / 1000
        key = self.keyring.issue_role_session(role_name, session_name, ttl_s, now, policy, role_id=role_id)
        return AssumedRole(
            key=key,
            arn=f"acs:ram::{self.account_id}:assumed-role/{role_name}/{session_name}",
            assumed_role_id=f"{role_id}:{session_name}",
        )

    def get_caller_identity(self, principal: Principal) -> CallerIdentity:
        """Who ``principal`` is, as STS GetCallerIdentity answers (any authenticated caller may ask)."""
        account = principal.account_id
        if principal.kind is PrincipalKind.ROOT:
            return CallerIdentity(IdentityType.ACCOUNT, account, principal.arn, account, user_id=account)
        if principal.kind is PrincipalKind.USER:
            user_id = self.authorizer.repo.get_user(principal.name).user_id
            return CallerIdentity(IdentityType.RAM_USER, account, principal.arn, user_id, user_id=user_id)
        role = self.authorizer.find_role(principal.name)
        role_id = role.role_id if role is not None else ""  # deleted since the request was authorized
        return CallerIdentity(
            IdentityType.ASSUMED_ROLE_USER,
            account,
            principal.arn,
            f"{role_id}:{principal.session_name}",
            role_id=role_id,
        )
