"""Apply or remove a deploy file's ``ram:`` section over the server's RAM API (:class:`RamClient`).

Policies first (a role names them), then roles. A policy whose document changed gets a new default version
(the oldest non-default version is dropped when five exist, as RAM's RotateStrategy does); a role's trust
policy, description and session limit are updated in place; the policies attached to a declared role
converge to the file's list (attached when missing, detached when the file no longer names them).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tidegate.deploy.ram_spec import PolicyDecl, PolicyRef, PolicyType, RamDecl, RoleDecl
from tidegate.errors import TidegateError
from tidegate.ram.client import RamClient, RamClientError, items

__all__ = ["RamDeployer"]

#: ``report(kind, name, outcome)``: records one step.
Report = Callable[[str, str, str], None]


def _same_json(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return a == b


class RamDeployer:
    """Applies one :class:`RamDecl` with one client; every step is reported.

    Args:
        client: a RAM client of the server.
        report: called with ``(kind, name, outcome)`` per step.
        error: builds the error raised when the server refuses a step.
    """

    def __init__(self, client: RamClient, report: Report, error: Callable[[str], TidegateError]) -> None:
        self.client = client
        self.report = report
        self.error = error

    def _call(self, action: str, **params: str | int | bool | None) -> dict[str, Any]:
        try:
            return self.client.call(action, params)
        except RamClientError as exc:
            raise self.error(f"{action}: {exc.message}") from None

    def _get(self, action: str, **params: str) -> dict[str, Any] | None:
        """The answer of a Get action, or None when the entity does not exist."""
        try:
            return self.client.call(action, params)
        except RamClientError as exc:
            if exc.error_code.startswith("EntityNotExist"):
                return None
            raise self.error(f"{action}: {exc.message}") from None

    # --- deploy ----------------------------------------------------------------------------------------

    def deploy(self, decl: RamDecl) -> None:
        """Create or update every declared policy and role, and converge the roles' attachments."""
        for p in decl.policies:
            self._policy(p)
        for r in decl.roles:
            self._role(r)

    def _policy(self, p: PolicyDecl) -> None:
        current = self._get("GetPolicy", PolicyName=p.name, PolicyType=PolicyType.CUSTOM)
        if current is None:
            self._call("CreatePolicy", PolicyName=p.name, PolicyDocument=p.document, Description=p.description)
            self.report("policy", p.name, "created")
            return
        if current.get("Policy", {}).get("Description", "") != p.description:
            raise self.error(
                f"policy {p.name}: the file's description differs from the server's, and a policy's description "
                "cannot be changed (delete the policy, or give the description it has)"
            )
        changed = False
        if not _same_json(current.get("DefaultPolicyVersion", {}).get("PolicyDocument", ""), p.document):
            self._call(
                "CreatePolicyVersion",
                PolicyName=p.name,
                PolicyDocument=p.document,
                SetAsDefault=True,
                RotateStrategy="DeleteOldestNonDefaultVersionWhenLimitExceeded",
            )
            changed = True
        self.report("policy", p.name, "updated" if changed else "unchanged")

    def _role(self, r: RoleDecl) -> None:
        current = self._get("GetRole", RoleName=r.name)
        if current is None:
            self._call(
                "CreateRole",
                RoleName=r.name,
                AssumeRolePolicyDocument=r.trust_policy,
                Description=r.description,
                MaxSessionDuration=r.max_session_duration,
            )
            self.report("role", r.name, "created")
        else:
            role = current.get("Role", {})
            update: dict[str, str | int | None] = {}
            if not _same_json(role.get("AssumeRolePolicyDocument", ""), r.trust_policy):
                update["NewAssumeRolePolicyDocument"] = r.trust_policy
            if role.get("Description", "") != r.description:
                update["NewDescription"] = r.description
            if r.max_session_duration is not None and role.get("MaxSessionDuration") != r.max_session_duration:
                update["NewMaxSessionDuration"] = r.max_session_duration
            if update:
                self._call("UpdateRole", RoleName=r.name, **update)
            self.report("role", r.name, "updated" if update else "unchanged")
        self._attachments(r)

    def _type_of(self, ref: PolicyRef) -> PolicyType:
        if ref.type is not None:
            return ref.type
        custom = self._get("GetPolicy", PolicyName=ref.name, PolicyType=PolicyType.CUSTOM)
        return PolicyType.CUSTOM if custom is not None else PolicyType.SYSTEM

    def _attached(self, role: str) -> set[tuple[str, str]]:
        doc = self._call("ListPoliciesForRole", RoleName=role)
        return {(p["PolicyType"], p["PolicyName"]) for p in items(doc, "Policies", "Policy")}

    def _attachments(self, r: RoleDecl) -> None:
        current = self._attached(r.name)
        wanted = [(self._type_of(ref).value, ref.name) for ref in r.policies]
        for kind, name in wanted:
            if (kind, name) in current:
                self.report("role policy", f"{r.name}/{name}", "unchanged")
                continue
            self._call("AttachPolicyToRole", RoleName=r.name, PolicyName=name, PolicyType=kind)
            self.report("role policy", f"{r.name}/{name}", "created")
        for kind, name in sorted(current - set(wanted)):
            self._call("DetachPolicyFromRole", RoleName=r.name, PolicyName=name, PolicyType=kind)
            self.report("role policy", f"{r.name}/{name}", "deleted")

    # --- destroy ---------------------------------------------------------------------------------------

    def destroy(self, decl: RamDecl) -> None:
        """Delete the declared roles (detaching their policies) and then the declared policies."""
        for r in decl.roles:
            if self._get("GetRole", RoleName=r.name) is None:
                self.report("role", r.name, "absent")
                continue
            for kind, name in sorted(self._attached(r.name)):
                self._call("DetachPolicyFromRole", RoleName=r.name, PolicyName=name, PolicyType=kind)
            self._call("DeleteRole", RoleName=r.name)
            self.report("role", r.name, "deleted")
        for p in decl.policies:
            if self._get("GetPolicy", PolicyName=p.name, PolicyType=PolicyType.CUSTOM) is None:
                self.report("policy", p.name, "absent")
                continue
            versions = self._call("ListPolicyVersions", PolicyName=p.name, PolicyType=PolicyType.CUSTOM)
            for v in items(versions, "PolicyVersions", "PolicyVersion"):
                if not v.get("IsDefaultVersion"):
                    self._call("DeletePolicyVersion", PolicyName=p.name, VersionId=v["VersionId"])
            self._call("DeletePolicy", PolicyName=p.name)
            self.report("policy", p.name, "deleted")
