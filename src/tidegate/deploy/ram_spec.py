"""The deploy file's ``ram:`` section: Custom policies and roles (docs/deploy.md, Access control).

Users are not declared in deploy files: their AccessKeys are secrets, made with ``tidegate ram keys
create``. Keys are matched like the rest of the file (case and underscores do not matter).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidegate.deploy.errors import DeployFileError
from tidegate.ram.client import dumps_document, trust_document
from tidegate.ram.model import PolicyType

__all__ = ["PolicyDecl", "PolicyRef", "PolicyType", "RamDecl", "RoleDecl", "parse_ram"]

MIN_SESSION_S = 3600
MAX_SESSION_S = 43200


@dataclass(frozen=True, slots=True)
class PolicyDecl:
    """A Custom policy: its document (JSON text) and description."""

    name: str
    document: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class PolicyRef:
    """A policy a role names; ``type`` None: Custom when the account has one by that name, else System."""

    name: str
    type: PolicyType | None = None


@dataclass(frozen=True, slots=True)
class RoleDecl:
    """A role: its trust policy (JSON text), the policies attached to it, description and session limit."""

    name: str
    trust_policy: str
    policies: tuple[PolicyRef, ...] = ()
    description: str = ""
    max_session_duration: int | None = None


@dataclass(frozen=True, slots=True)
class RamDecl:
    """What the ``ram:`` section declares."""

    policies: tuple[PolicyDecl, ...] = ()
    roles: tuple[RoleDecl, ...] = ()


def _norm(key: object) -> str:
    return str(key).replace("_", "").replace("-", "").lower()


def _fields(value: Any, where: str, known: set[str]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DeployFileError(f"{where}: expected a mapping, got {type(value).__name__}")
    out = {_norm(k): v for k, v in value.items()}
    unknown = sorted(str(k) for k in value if _norm(k) not in known)
    if unknown:
        raise DeployFileError(f"{where}: unknown keys {unknown}")
    return out


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DeployFileError(f"{where}: expected a string")
    return value


def _document(fields: dict[str, Any], key: str, base: Path, where: str, spelled: str) -> str | None:
    """A document given inline (a mapping, or JSON text) under ``key`` or as a file under ``key + 'file'``."""
    inline, file = fields.get(key), fields.get(key + "file")
    if inline is not None and file is not None:
        raise DeployFileError(f"{where}: give one of '{spelled}' and '{spelled}File', not both")
    if file is not None:
        path = base / _text(file, f"{where}.{spelled}File")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DeployFileError(f"{where}.{spelled}File: cannot read {path}: {exc}") from None
    elif isinstance(inline, dict):
        return dumps_document(inline)
    elif inline is None:
        return None
    else:
        text = _text(inline, f"{where}.{spelled}")
    try:
        if not isinstance(json.loads(text), dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        raise DeployFileError(f"{where}.{spelled}: not a JSON object ({exc})") from None
    return text


def _policy(name: str, raw: Any, base: Path, where: str) -> PolicyDecl:
    fields = _fields(raw, where, {"document", "documentfile", "description"})
    document = _document(fields, "document", base, where, "document")
    if document is None:
        raise DeployFileError(f"{where}: 'document' or 'documentFile' is required")
    return PolicyDecl(name, document, _text(fields.get("description"), f"{where}.description"))


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise DeployFileError(f"{where}: expected a name or a list of names")
    return tuple(items)


def _trust(fields: dict[str, Any], base: Path, where: str) -> str:
    policy = _document(fields, "trustpolicy", base, where, "trustPolicy")
    if policy is not None and "trust" in fields:
        raise DeployFileError(f"{where}: give one of 'trust' and 'trustPolicy', not both")
    if policy is not None:
        return policy
    if "trust" not in fields:
        raise DeployFileError(f"{where}: say who may assume the role: 'trust' (services, accounts) or 'trustPolicy'")
    trust = _fields(fields["trust"], f"{where}.trust", {"services", "accounts"})
    services = _strings(trust["services"], f"{where}.trust.services") if "services" in trust else ()
    accounts = _strings(trust["accounts"], f"{where}.trust.accounts") if "accounts" in trust else ()
    if not services and not accounts:
        raise DeployFileError(f"{where}.trust: name 'services' or 'accounts'")
    return trust_document(services, tuple(str(a) for a in accounts))


def _policy_ref(raw: Any, declared: set[str], where: str) -> PolicyRef:
    if isinstance(raw, str) and raw:
        return PolicyRef(raw, PolicyType.CUSTOM if raw in declared else None)
    fields = _fields(raw, where, {"name", "type"})
    name = _text(fields.get("name"), f"{where}.name")
    if not name:
        raise DeployFileError(f"{where}: expected a policy name or {{name: NAME, type: System|Custom}}")
    kind = _text(fields.get("type"), f"{where}.type").capitalize()
    if kind and kind not in {t.value for t in PolicyType}:
        raise DeployFileError(f"{where}.type: expected System or Custom, not {fields.get('type')!r}")
    return PolicyRef(name, PolicyType(kind) if kind else (PolicyType.CUSTOM if name in declared else None))


def _role(name: str, raw: Any, base: Path, declared: set[str], where: str) -> RoleDecl:
    known = {"trust", "trustpolicy", "trustpolicyfile", "policies", "description", "maxsessionduration"}
    fields = _fields(raw, where, known)
    refs = fields.get("policies") or []
    if not isinstance(refs, list):
        raise DeployFileError(f"{where}.policies: expected a list of policy names")
    duration = fields.get("maxsessionduration")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int) or not MIN_SESSION_S <= duration <= MAX_SESSION_S
    ):
        raise DeployFileError(f"{where}.maxSessionDuration: expected seconds from {MIN_SESSION_S} to {MAX_SESSION_S}")
    return RoleDecl(
        name=name,
        trust_policy=_trust(fields, base, where),
        policies=tuple(_policy_ref(r, declared, f"{where}.policies[{i}]") for i, r in enumerate(refs)),
        description=_text(fields.get("description"), f"{where}.description"),
        max_session_duration=duration,
    )


def _named(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DeployFileError(f"{where}: expected a mapping of names, got {type(value).__name__}")
    return {str(k): v for k, v in value.items()}


def parse_ram(raw: Any, base: Path) -> RamDecl:
    """Check the ``ram:`` section (``base``: the deploy file's folder, for ``documentFile``).

    Raises:
        DeployFileError: the section breaks the format (the message names the place).
    """
    if isinstance(raw, dict) and any(_norm(k) == "users" for k in raw):
        raise DeployFileError(
            "ram.users: users are not declared in deploy files (their AccessKeys are secrets); "
            "create them with `tidegate ram users create`"
        )
    fields = _fields(raw, "ram", {"policies", "roles"})
    policies = tuple(
        _policy(n, v, base, f"ram.policies.{n}") for n, v in _named(fields.get("policies"), "ram.policies").items()
    )
    declared = {p.name for p in policies}
    roles = tuple(
        _role(n, v, base, declared, f"ram.roles.{n}") for n, v in _named(fields.get("roles"), "ram.roles").items()
    )
    return RamDecl(policies=policies, roles=roles)
