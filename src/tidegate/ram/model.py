"""The RAM model's records and kinds: users, AccessKeys, groups, policies and their versions, roles, attachments.

Times are epoch milliseconds. Names keep the case they were created with; they are unique case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Attachment",
    "EntityType",
    "Group",
    "KeyStatus",
    "PolicyEntity",
    "PolicyInfo",
    "PolicyType",
    "PolicyVersion",
    "PrincipalType",
    "Role",
    "RotateStrategy",
    "User",
    "UserAccessKey",
]


class KeyStatus(StrEnum):
    """Whether a user's AccessKey may sign requests."""

    ACTIVE = "Active"
    INACTIVE = "Inactive"


class PolicyType(StrEnum):
    """Built-in (System) or the account's own (Custom)."""

    SYSTEM = "System"
    CUSTOM = "Custom"


class EntityType(StrEnum):
    """What a policy can be attached to: a user, a group or a role."""

    USER = "User"
    GROUP = "Group"
    ROLE = "Role"


#: The name this enum had first (another enum of that name, in ``tidegate.auth.policy``, names trust-policy
#: principals); code merged before the rename imports it.
PrincipalType = EntityType


class RotateStrategy(StrEnum):
    """What CreatePolicyVersion does when the policy already has the most versions allowed."""

    NONE = "None"
    DELETE_OLDEST = "DeleteOldestNonDefaultVersionWhenLimitExceeded"


@dataclass(frozen=True, slots=True, kw_only=True)
class User:
    """A RAM user."""

    user_id: str
    name: str
    display_name: str = ""
    comments: str = ""
    email: str = ""
    mobile: str = ""
    created_ms: int = 0
    modified_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAccessKey:
    """A user's AccessKey; ``secret`` is set only in the answer of its creation."""

    key_id: str
    user_name: str
    status: KeyStatus
    created_ms: int
    secret: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    """A group of users; ``joined_ms`` is set when listed as one of a user's groups."""

    group_id: str
    name: str
    comments: str = ""
    created_ms: int = 0
    modified_ms: int = 0
    joined_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyInfo:
    """A policy (System or Custom) and its default version's document."""

    name: str
    type: PolicyType
    description: str
    default_version: str
    document: str
    created_ms: int = 0
    modified_ms: int = 0
    attachment_count: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyVersion:
    """One version (``v1``, ``v2``…) of a custom policy."""

    version_id: str
    document: str
    is_default: bool
    created_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Role:
    """A role; ``trust_policy`` is its AssumeRolePolicyDocument as given."""

    role_id: str
    name: str
    arn: str
    description: str
    trust_policy: str
    max_session_s: int
    created_ms: int = 0
    modified_ms: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A policy attached to a principal (as listed for that principal)."""

    policy_name: str
    policy_type: PolicyType
    description: str
    default_version: str
    attached_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyEntity:
    """A principal a policy is attached to (as listed for that policy)."""

    principal_type: EntityType
    name: str
    display_name: str
    comments: str
    attached_ms: int
