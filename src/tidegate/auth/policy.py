"""RAM policy documents and their evaluation: a pure module (no I/O, no clock, no store).

:func:`parse_policy` reads and checks a document (permission policy or a role's trust policy),
:func:`evaluate` decides a request against an identity's policies (narrowed by a session policy), and
:func:`trusts` says whether a trust policy lets a principal assume the role. Wildcards are in
:mod:`~tidegate.auth.policy_match`, condition operators in :mod:`~tidegate.auth.policy_conditions`.
The language as tidegate implements it, and how it differs from Alibaba Cloud RAM: docs/policies.md.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tidegate.auth.policy_conditions import check_values, condition_holds, lookup_operator
from tidegate.auth.policy_match import matches
from tidegate.errors import AuthError
from tidegate.jsontext import JsonTextError, parse

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


# --- parsing --------------------------------------------------------------------------------------------

_TOP_FIELDS = ("Version", "Statement")
_STATEMENT_FIELDS = ("Effect", "Action", "NotAction", "Resource", "NotResource", "Condition")
_TRUST_FIELDS = ("Effect", "Action", "NotAction", "Principal", "Condition")
_ACTION = re.compile(r"[^\s:]+:[^\s:]+")
_ACCOUNT = r"[A-Za-z0-9_-]+"
_RAM_PRINCIPAL = re.compile(rf"{_ACCOUNT}|acs:ram::{_ACCOUNT}:(?:root|(?:user|role)/[^\s/:*?]+)")
_SERVICE_PRINCIPAL = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_FEDERATED_PRINCIPAL = re.compile(rf"acs:ram::{_ACCOUNT}:(?:saml|oidc)-provider/[^\s/:*?]+")
_PRINCIPAL_FORMS = {
    PrincipalType.RAM: (_RAM_PRINCIPAL, "an account id, acs:ram::ACCOUNT:root or acs:ram::ACCOUNT:user/NAME"),
    PrincipalType.SERVICE: (_SERVICE_PRINCIPAL, "a service name such as fnf.aliyuncs.com"),
    PrincipalType.FEDERATED: (_FEDERATED_PRINCIPAL, "acs:ram::ACCOUNT:saml-provider/NAME"),
}


def _refuse(message: str) -> MalformedPolicyDocument:
    return MalformedPolicyDocument(f"The policy document is not valid: {message}.")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    """A string or a non-empty list of non-empty strings (Action, Resource, principals)."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _refuse(f"{where} must be a string or a non-empty list of strings")
    for item in items:
        if not isinstance(item, str) or not item:
            raise _refuse(f"{where} must hold non-empty strings, not {_show(item)}")
    return tuple(items)


def _scalar(value: Any, where: str) -> str:
    """A condition value: a string, number or boolean, as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return repr(value)
    raise _refuse(f"{where} must be a string, number or boolean, not {_show(value)}")


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict | list):
        return "an object" if isinstance(value, dict) else "a list"
    return repr(value)[:60]


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse(f"{where} must be a JSON object, not {_show(value)}")
    return value


def _unknown(fields: dict[str, Any], allowed: tuple[str, ...], where: str) -> None:
    for name in fields:
        if name not in allowed:
            hint = next((a for a in allowed if a.lower() == name.lower()), None)
            known = f"did you mean {hint}?" if hint else f"known fields: {', '.join(allowed)}"
            raise _refuse(f"{where} has an unknown field {name[:60]!r} ({known})")


def _either(stmt: dict[str, Any], name: str, where: str) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    """``name`` xor ``Not<name>``, as tuples."""
    positive, negative = stmt.get(name), stmt.get(f"Not{name}")
    if positive is not None and negative is not None:
        raise _refuse(f"{where} has both {name} and Not{name}; a statement takes one of them")
    if positive is None and negative is None:
        raise _refuse(f"{where} needs {name} or Not{name}")
    field_name = name if positive is not None else f"Not{name}"
    values = _strings(positive if positive is not None else negative, f"{where}.{field_name}")
    return (values, None) if positive is not None else (None, values)


def _check_actions(actions: tuple[str, ...], where: str) -> None:
    for action in actions:
        if action != "*" and not _ACTION.fullmatch(action):
            raise _refuse(f"{where}: {action[:60]!r} is not an action (service:Action, e.g. fnf:StartExecution, or *)")


def _check_resources(resources: tuple[str, ...], where: str) -> None:
    for resource in resources:
        if resource != "*" and not resource.startswith("acs:"):
            raise _refuse(f"{where}: {resource[:60]!r} is not a resource (an ARN starting with acs:, or *)")


def _conditions(value: Any, where: str) -> dict[str, dict[str, tuple[str, ...]]]:
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for op_name, keys in _object(value, where).items():
        op = lookup_operator(op_name)
        if isinstance(op, str):
            raise _refuse(f"{where}: {op}")
        block = _object(keys, f"{where}.{op_name}")
        if not block:
            raise _refuse(f"{where}.{op_name} names no condition key")
        out[op_name] = {}
        for key, raw in block.items():
            at = f"{where}.{op_name}.{key[:60]}"
            if ":" not in key.strip(":"):
                raise _refuse(f"{at}: {key[:60]!r} is not a condition key (service:Key, e.g. acs:SourceIp)")
            items = raw if isinstance(raw, list) else [raw]
            if not items:
                raise _refuse(f"{at} has an empty list of values")
            values = tuple(_scalar(item, at) for item in items)
            if (problem := check_values(op, key, values)) is not None:
                raise _refuse(f"{where}: {problem}")
            out[op_name][key] = values
    return out


def _principals(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    block = _object(value, where)
    if not block:
        raise _refuse(f"{where} names no principal")
    _unknown(block, tuple(PrincipalType), where)
    out: dict[str, tuple[str, ...]] = {}
    for kind, raw in block.items():
        names = _strings(raw, f"{where}.{kind}")
        form, description = _PRINCIPAL_FORMS[PrincipalType(kind)]
        for name in names:
            if not form.fullmatch(name):
                raise _refuse(f"{where}.{kind}: {name[:60]!r} is not {description}")
        out[kind] = names
    return out


def _statement(raw: Any, where: str, trust: bool) -> Statement:
    stmt = _object(raw, where)
    if not trust and "Principal" in stmt:
        raise _refuse(f"{where} has a Principal, which only a role's trust policy takes")
    if trust and ("Resource" in stmt or "NotResource" in stmt):
        raise _refuse(f"{where}: a trust policy names principals, not resources (remove Resource)")
    _unknown(stmt, _TRUST_FIELDS if trust else _STATEMENT_FIELDS, where)
    effect = stmt.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise _refuse(f'{where}.Effect must be "Allow" or "Deny" (case-sensitive), not {_show(effect)}')
    actions, not_actions = _either(stmt, "Action", where)
    _check_actions(actions or not_actions or (), f"{where}.{'Action' if actions else 'NotAction'}")
    resources = not_resources = principals = None
    if trust:
        if "Principal" not in stmt:
            raise _refuse(f"{where} needs a Principal (RAM, Service or Federated)")
        principals = _principals(stmt["Principal"], f"{where}.Principal")
    else:
        resources, not_resources = _either(stmt, "Resource", where)
        _check_resources(resources or not_resources or (), f"{where}.{'Resource' if resources else 'NotResource'}")
    conditions = _conditions(stmt["Condition"], f"{where}.Condition") if "Condition" in stmt else {}
    return Statement(
        effect=Effect(effect),
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        principals=principals,
        conditions=conditions,
    )


def parse_policy(text: str, *, trust: bool = False) -> Policy:
    """Parse and check a policy document (``trust``: a role's trust policy, with ``Principal``).

    Raises:
        MalformedPolicyDocument: not JSON, wrong shape, unknown fields, bad effect/operator, too long.
    """
    limit, kind = (MAX_TRUST_POLICY_LENGTH, "trust policy") if trust else (MAX_POLICY_LENGTH, "policy")
    if len(text) > limit:
        raise MalformedPolicyDocument(
            f"The {kind} document is {len(text)} characters long; RAM allows at most {limit} characters."
        )
    try:
        doc = parse(text, f"the {kind} document")
    except JsonTextError as exc:
        raise MalformedPolicyDocument(exc.message) from None
    body = _object(doc, "the document")
    _unknown(body, _TOP_FIELDS, "the document")
    version = body.get("Version")
    if version != "1":
        raise _refuse(f'Version must be the string "1", not {_show(version)}')
    statements = body.get("Statement")
    if isinstance(statements, dict):
        raise _refuse("Statement must be a list of statements (put the statement object inside [ ])")
    if not isinstance(statements, list) or not statements:
        raise _refuse(f"Statement must be a non-empty list of statements, not {_show(statements)}")
    parsed = tuple(_statement(raw, f"Statement[{n}]", trust) for n, raw in enumerate(statements))
    return Policy(statements=parsed, text=text)


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
