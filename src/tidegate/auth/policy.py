"""RAM policy documents and their evaluation: a pure module (no I/O, no clock, no store).

INTERFACE STUB: the signatures below are the contract other packages code against; the bodies are being
written. See docs/auth.md (Policies) once written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from tidegate.errors import AuthError

__all__ = [
    "AccessRequest",
    "Decision",
    "Effect",
    "MalformedPolicyDocument",
    "Policy",
    "Statement",
    "evaluate",
    "parse_policy",
    "trusts",
]


class MalformedPolicyDocument(AuthError):
    """The policy document is not valid."""

    code = "MalformedPolicyDocument"


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
    A key absent from the context makes a condition on it false (except the IfExists variants).
    """

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def parse_policy(text: str, *, trust: bool = False) -> Policy:
    """Parse and check a policy document (``trust``: a role's trust policy, with ``Principal``).

    Raises:
        MalformedPolicyDocument: not JSON, wrong shape, unknown fields, bad effect/operator, too long.
    """
    raise NotImplementedError


def evaluate(policies: Iterable[Policy], request: AccessRequest, *, session: Policy | None = None) -> Decision:
    """Evaluate ``request`` against an identity's policies, narrowed by a session policy if any.

    An explicit Deny in any policy (or in ``session``) wins; otherwise the request is allowed when some
    policy allows it and (if ``session`` is given) ``session`` allows it too; otherwise implicit deny.
    """
    raise NotImplementedError


def trusts(
    trust: Policy, principal_type: str, principal: str, context: Mapping[str, tuple[str, ...]] | None = None
) -> bool:
    """Whether a role's trust policy lets ``principal`` assume it (``sts:AssumeRole``).

    ``principal_type`` is ``"RAM"`` (``acs:ram::ACCOUNT:root`` or a user ARN ``acs:ram::ACCOUNT:user/NAME``)
    or ``"Service"`` (``fnf.aliyuncs.com``, ``fc.aliyuncs.com``).
    """
    raise NotImplementedError
