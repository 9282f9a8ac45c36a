"""The parsed form of RAM policies (documents, statements, requests, decisions): the types of
:mod:`tidegate.auth.policy`, which re-exports them (import them from there)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from tidegate.errors import AuthError

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
]


class MalformedPolicyDocument(AuthError):
    """The policy document is not valid."""

    code = "MalformedPolicyDocument"


#: The longest permission policy document RAM accepts (characters).
MAX_POLICY_LENGTH = 6144
#: The longest trust policy document of a role RAM accepts (characters).
MAX_TRUST_POLICY_LENGTH = 2048
#: The action a trust policy grants.
ASSUME_ROLE = "sts:AssumeRole"


class PrincipalType(StrEnum):
    """The kinds of principal a trust policy names (the keys of its ``Principal`` element)."""

    RAM = "RAM"  # an account (acs:ram::ACCOUNT:root, or the bare account id) or one user of it
    SERVICE = "Service"  # a cloud service (fnf.aliyuncs.com)
    FEDERATED = "Federated"  # an identity provider (acs:ram::ACCOUNT:saml-provider/NAME)


class Effect(StrEnum):
    """A statement's effect."""

    ALLOW = "Allow"
    DENY = "Deny"


class Decision(StrEnum):
    """The outcome of evaluating a request against policies."""

    ALLOW = "Allow"
    EXPLICIT_DENY = "ExplicitDeny"
    IMPLICIT_DENY = "ImplicitDeny"


@dataclass(frozen=True, slots=True)
class Statement:
    """One parsed statement; exactly one of actions/not_actions is set (resources likewise, except in
    trust policies, which name principals instead of resources)."""

    effect: Effect
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    #: Trust policies: ``{"RAM": (...), "Service": (...), "Federated": (...)}``.
    principals: Mapping[str, tuple[str, ...]] | None = None
    #: ``{operator: {key: (values...)}}`` as written (operator names as RAM spells them).
    conditions: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Policy:
    """A parsed, valid policy document; ``text`` is the document as given (for rendering back)."""

    statements: tuple[Statement, ...]
    text: str
    version: str = "1"


@dataclass(frozen=True, slots=True)
class AccessRequest:
    """What is asked: ``action`` (``fnf:StartExecution``), ``resource`` (an ARN), and the condition context.

    ``context`` maps condition keys (``acs:SourceIp``, ``acs:CurrentTime`` ISO 8601 UTC,
    ``acs:SecureTransport`` ``"true"/"false"``, ``acs:MFAPresent``, ``acs:UserAgent``…) to their values.
    Keys are case-insensitive. A key absent from the context makes a positive condition on it false (and so
    a negated one, ``StringNotEquals``, ``NotIpAddress``…, true).
    """

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
