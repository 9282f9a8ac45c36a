"""RAM API records as the RAM API answers them (the field names both official SDKs parse; docs/ram.md).

Dates are ISO 8601 UTC to the second (``2026-12-02T01:02:03Z``); lists are wrapped twice, as RAM does
(``{"Users": {"User": [...]}}``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from tidegate.ram.model import Attachment, Group, PolicyEntity, PolicyInfo, PolicyVersion, Role, User, UserAccessKey

__all__ = [
    "access_key_json",
    "attachment_json",
    "date",
    "entity_json",
    "group_json",
    "policy_json",
    "role_json",
    "user_json",
    "version_json",
    "wrapped",
]


def date(ms: int) -> str:
    """Epoch milliseconds as RAM writes a date."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def wrapped(outer: str, inner: str, rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """``{outer: {inner: [rows]}}``."""
    return {outer: {inner: list(rows)}}


def user_json(u: User) -> dict[str, Any]:
    """A user (CreateUser, GetUser, UpdateUser, ListUsers)."""
    return {
        "UserId": u.user_id,
        "UserName": u.name,
        "DisplayName": u.display_name,
        "Email": u.email,
        "MobilePhone": u.mobile,
        "Comments": u.comments,
        "CreateDate": date(u.created_ms),
        "UpdateDate": date(u.modified_ms or u.created_ms),
    }


def access_key_json(k: UserAccessKey) -> dict[str, Any]:
    """An AccessKey; its secret only when it was just created."""
    doc: dict[str, Any] = {"AccessKeyId": k.key_id, "Status": k.status.value, "CreateDate": date(k.created_ms)}
    if k.secret is not None:
        doc["AccessKeySecret"] = k.secret
    return doc


def group_json(g: Group) -> dict[str, Any]:
    """A group; ``JoinDate`` when listed as one of a user's groups."""
    doc: dict[str, Any] = {
        "GroupId": g.group_id,
        "GroupName": g.name,
        "Comments": g.comments,
        "CreateDate": date(g.created_ms),
        "UpdateDate": date(g.modified_ms or g.created_ms),
    }
    if g.joined_ms is not None:
        doc["JoinDate"] = date(g.joined_ms)
    return doc


def policy_json(p: PolicyInfo) -> dict[str, Any]:
    """A policy (without its document: GetPolicy adds ``DefaultPolicyVersion``)."""
    return {
        "PolicyName": p.name,
        "PolicyType": p.type.value,
        "Description": p.description,
        "DefaultVersion": p.default_version,
        "AttachmentCount": p.attachment_count,
        "CreateDate": date(p.created_ms),
        "UpdateDate": date(p.modified_ms or p.created_ms),
    }


def version_json(v: PolicyVersion) -> dict[str, Any]:
    """A policy version."""
    return {
        "VersionId": v.version_id,
        "IsDefaultVersion": v.is_default,
        "PolicyDocument": v.document,
        "CreateDate": date(v.created_ms),
    }


def role_json(r: Role, *, document: bool = True) -> dict[str, Any]:
    """A role (ListRoles leaves out the trust policy: ``document=False``)."""
    doc: dict[str, Any] = {
        "RoleId": r.role_id,
        "RoleName": r.name,
        "Arn": r.arn,
        "Description": r.description,
        "MaxSessionDuration": r.max_session_s,
        "CreateDate": date(r.created_ms),
        "UpdateDate": date(r.modified_ms or r.created_ms),
    }
    if document:
        doc["AssumeRolePolicyDocument"] = r.trust_policy
    return doc


def attachment_json(a: Attachment) -> dict[str, Any]:
    """A policy attached to a user, group or role (ListPoliciesForUser/Group/Role)."""
    return {
        "PolicyName": a.policy_name,
        "PolicyType": a.policy_type.value,
        "Description": a.description,
        "DefaultVersion": a.default_version,
        "AttachDate": date(a.attached_ms),
    }


def entity_json(e: PolicyEntity, account_id: str) -> dict[str, Any]:
    """A user, group or role a policy is attached to (ListEntitiesForPolicy)."""
    if e.principal_type.value == "User":
        return {"UserName": e.name, "DisplayName": e.display_name, "AttachDate": date(e.attached_ms)}
    if e.principal_type.value == "Group":
        return {"GroupName": e.name, "Comments": e.comments, "AttachDate": date(e.attached_ms)}
    return {
        "RoleName": e.name,
        "Arn": f"acs:ram::{account_id}:role/{e.name}",
        "Description": e.comments,
        "AttachDate": date(e.attached_ms),
    }
