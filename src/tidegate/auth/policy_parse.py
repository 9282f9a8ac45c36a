"""Reading a RAM policy document: :func:`parse_policy` (re-exported by :mod:`tidegate.auth.policy`).

Every refusal is one :class:`~tidegate.auth.policy_model.MalformedPolicyDocument` whose message names the
place (``Statement[1].Condition.StringEquals``) and what is wrong with it.
"""

from __future__ import annotations

import re
from typing import Any

from tidegate.auth.policy_conditions import check_values, lookup_operator
from tidegate.auth.policy_model import (
    MAX_POLICY_LENGTH,
    MAX_TRUST_POLICY_LENGTH,
    Effect,
    MalformedPolicyDocument,
    Policy,
    PrincipalType,
    Statement,
)
from tidegate.jsontext import JsonTextError, parse

__all__ = ["parse_policy"]

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


def _any_region_and_account(resource: str) -> str:
    """An ARN pattern whose region or account field is empty matches any region or account there.

    Alibaba Cloud's own guides write execution-role policies this way (``acs:fc:::services/S/functions/F``,
    ``acs:fnf:::flows/F/executions/*``), so an empty field is read as ``*``.
    """
    parts = resource.split(":", 4)
    if len(parts) == 5 and parts[0] == "acs" and (not parts[2] or not parts[3]):
        parts[2] = parts[2] or "*"
        parts[3] = parts[3] or "*"
        return ":".join(parts)
    return resource


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
        if resources is not None:
            resources = tuple(_any_region_and_account(r) for r in resources)
        if not_resources is not None:
            not_resources = tuple(_any_region_and_account(r) for r in not_resources)
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
