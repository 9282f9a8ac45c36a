"""The RAM service: users and their AccessKeys, groups, policies and their versions, roles, attachments.

Every operation validates its input the way RAM does (name rules, lengths, policy documents) and raises
RAM's own errors (:mod:`tidegate.ram.errors`); the rows are kept by :class:`~tidegate.ram.repo.RamRepo`.
The RAM RPC API is a thin layer over this class.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from enum import StrEnum
from typing import TypeVar

from tidegate.auth.keys import KeyRing, derive_user_secret
from tidegate.auth.policy import parse_policy
from tidegate.auth.system_policies import SYSTEM_POLICIES, SystemPolicy
from tidegate.clock import now_ms
from tidegate.ram import errors as e
from tidegate.ram.model import (
    Attachment,
    EntityType,
    Group,
    KeyStatus,
    PolicyEntity,
    PolicyInfo,
    PolicyType,
    PolicyVersion,
    Role,
    RotateStrategy,
    User,
    UserAccessKey,
)
from tidegate.ram.repo import RamRepo
from tidegate.store import Store
from tidegate.store.records import Page

__all__ = ["DEFAULT_MAX_ITEMS", "MAX_MAX_ITEMS", "MAX_POLICY_DOCUMENT", "MAX_TRUST_POLICY", "RamService"]

#: Page size of a listing when MaxItems is not given, and the largest allowed (RAM's).
DEFAULT_MAX_ITEMS = 100
MAX_MAX_ITEMS = 1000
#: Longest policy document and longest trust policy (characters).
MAX_POLICY_DOCUMENT = 6144
MAX_TRUST_POLICY = 2048
#: A role's longest session: the range RAM allows and its default (seconds).
MIN_SESSION_S, MAX_SESSION_S, DEFAULT_SESSION_S = 3600, 43200, 3600

_USER_NAME = re.compile(r"[A-Za-z0-9._@-]+")
_GROUP_NAME = re.compile(r"[A-Za-z0-9._-]+")
_ROLE_NAME = re.compile(r"[A-Za-z0-9.-]+")
_POLICY_NAME = re.compile(r"[A-Za-z0-9-]+")
_DISPLAY_NAME = re.compile(r"[\w@.-]+")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_MOBILE = re.compile(r"[0-9]{1,3}-[0-9]{1,20}")
_VERSION = re.compile(r"v([1-9][0-9]{0,8})")
_ALNUM = string.ascii_letters + string.digits

E = TypeVar("E", bound=StrEnum)


def _name(value: str, param: str, pattern: re.Pattern[str], longest: int) -> str:
    if not 1 <= len(value) <= longest:
        raise e.invalid_parameter(param, "Length")
    if not pattern.fullmatch(value):
        raise e.invalid_parameter(param, "InvalidChars")
    return value


def _text(value: str, param: str, longest: int) -> str:
    if len(value) > longest:
        raise e.invalid_parameter(param, "Length")
    if any(not c.isprintable() for c in value):
        raise e.invalid_parameter(param, "InvalidChars")
    return value


def _enum(kind: type[E], value: str, param: str) -> E:
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise e.invalid_parameter(param, "Format", f'The parameter - "{param}" must be one of: {allowed}.') from None


def _digits(n: int) -> str:
    return str(secrets.randbelow(9) + 1) + "".join(str(secrets.randbelow(10)) for _ in range(n - 1))


def user_name(value: str, param: str = "UserName") -> str:
    """Check a user name: 1-64 letters, digits, ``.``, ``_``, ``@`` or ``-``."""
    return _name(value, param, _USER_NAME, 64)


def group_name(value: str, param: str = "GroupName") -> str:
    """Check a group name: 1-64 letters, digits, ``.``, ``_`` or ``-``."""
    return _name(value, param, _GROUP_NAME, 64)


def role_name(value: str, param: str = "RoleName") -> str:
    """Check a role name: 1-64 letters, digits, ``.`` or ``-``."""
    return _name(value, param, _ROLE_NAME, 64)


def policy_name(value: str, param: str = "PolicyName") -> str:
    """Check a policy name: 1-128 letters, digits or ``-``."""
    return _name(value, param, _POLICY_NAME, 128)


def version_number(value: str) -> int:
    """The number of a version id ``v1``…"""
    match = _VERSION.fullmatch(value)
    if not match:
        raise e.invalid_parameter("VersionId", "Format", "The specified version ID is invalid.")
    return int(match.group(1))


def max_items(value: int | None) -> int:
    """A listing's page size (1-1000, default 100)."""
    if value is None:
        return DEFAULT_MAX_ITEMS
    if not 1 <= value <= MAX_MAX_ITEMS:
        raise e.invalid_parameter("MaxItems", "Range", f'The parameter - "MaxItems" must be 1 to {MAX_MAX_ITEMS}.')
    return value


def _system_info(p: SystemPolicy, attachment_count: int = 0) -> PolicyInfo:
    return PolicyInfo(
        name=p.name,
        type=PolicyType.SYSTEM,
        description=p.description,
        default_version="v1",
        document=p.document,
        attachment_count=attachment_count,
    )


class RamService:
    """Manage the account's RAM entities.

    Args:
        store: the store holding them.
        keyring: the server's keys (user AccessKey secrets are derived from the root key).
        account_id: the account (role ARNs).
        clock: epoch milliseconds.
    """

    def __init__(self, store: Store, keyring: KeyRing, *, account_id: str, clock: Callable[[], int] = now_ms) -> None:
        self.keyring = keyring
        self.account_id = account_id
        self.repo = RamRepo(store.database, account_id=account_id, clock=clock)

    # --- users --------------------------------------------------------------------------------------

    def create_user(
        self, name: str, *, display_name: str = "", comments: str = "", email: str = "", mobile: str = ""
    ) -> User:
        """Create a user. Raises InvalidParameter.*, EntityAlreadyExists.User."""
        user = User(
            user_id=_digits(16),
            name=user_name(name),
            display_name=self._display_name(display_name, "DisplayName"),
            comments=_text(comments, "Comments", 128),
            email=self._email(email, "Email"),
            mobile=self._mobile(mobile, "MobilePhone"),
        )
        return self.repo.create_user(user)

    @staticmethod
    def _display_name(value: str, param: str) -> str:
        return value and _name(value, param, _DISPLAY_NAME, 128)

    @staticmethod
    def _email(value: str, param: str) -> str:
        if value and (len(value) > 128 or not _EMAIL.fullmatch(value)):
            raise e.invalid_parameter(param, "Format", f'The parameter - "{param}" is not a valid email address.')
        return value

    @staticmethod
    def _mobile(value: str, param: str) -> str:
        if value and not _MOBILE.fullmatch(value):
            raise e.invalid_parameter(
                param, "Format", f'The parameter - "{param}" must look like <country code>-<number>.'
            )
        return value

    def get_user(self, name: str) -> User:
        """A user. Raises EntityNotExist.User."""
        return self.repo.get_user(user_name(name))

    def update_user(
        self,
        name: str,
        *,
        new_name: str | None = None,
        display_name: str | None = None,
        comments: str | None = None,
        email: str | None = None,
        mobile: str | None = None,
    ) -> User:
        """Change what is given (None: unchanged). Raises EntityNotExist.User, EntityAlreadyExists.User."""
        changes: dict[str, str] = {}
        if new_name is not None:
            changes["name"] = user_name(new_name, "NewUserName")
        if display_name is not None:
            changes["display_name"] = self._display_name(display_name, "NewDisplayName")
        if comments is not None:
            changes["comments"] = _text(comments, "NewComments", 128)
        if email is not None:
            changes["email"] = self._email(email, "NewEmail")
        if mobile is not None:
            changes["mobile"] = self._mobile(mobile, "NewMobilePhone")
        return self.repo.update_user(user_name(name), changes)

    def delete_user(self, name: str) -> None:
        """Delete a user with no keys, groups or policies. Raises EntityNotExist.User, DeleteConflict.User.*."""
        self.repo.delete_user(user_name(name))

    def list_users(self, *, marker: str = "", max_items_: int | None = None) -> Page[User]:
        """Users in name order; ``next_token`` is the marker of the next page."""
        return self.repo.list_users(marker, max_items(max_items_))

    # --- access keys --------------------------------------------------------------------------------

    def create_access_key(self, user: str) -> UserAccessKey:
        """Create an Active key for a user; the answer carries its secret (the only time it is shown).

        Raises:
            EntityNotExist.User, LimitExceeded.User.AccessKey (two keys per user).
        """
        key_id = "LTAI" + "".join(secrets.choice(_ALNUM) for _ in range(20))
        salt = secrets.token_hex(16)
        created = self.repo.create_key(user_name(user), key_id, salt)
        secret = derive_user_secret(self.keyring.user_key, key_id, salt)
        return UserAccessKey(
            key_id=key_id,
            user_name=created.user_name,
            status=created.status,
            created_ms=created.created_ms,
            secret=secret,
        )

    def update_access_key(self, user: str, key_id: str, status: str) -> UserAccessKey:
        """Set a key Active or Inactive. Raises EntityNotExist.User(.AccessKey), InvalidParameter.Status.Format."""
        return self.repo.set_key_status(user_name(user), self._key_id(key_id), _enum(KeyStatus, status, "Status"))

    def delete_access_key(self, user: str, key_id: str) -> None:
        """Delete a key. Raises EntityNotExist.User(.AccessKey)."""
        self.repo.delete_key(user_name(user), self._key_id(key_id))

    def list_access_keys(self, user: str) -> list[UserAccessKey]:
        """A user's keys (no secrets). Raises EntityNotExist.User."""
        return self.repo.list_keys(user_name(user))

    @staticmethod
    def _key_id(value: str) -> str:
        if not 1 <= len(value) <= 64 or not value.isascii() or not value.isalnum():
            raise e.invalid_parameter("UserAccessKeyId", "Format", 'The parameter - "UserAccessKeyId" is invalid.')
        return value

    # --- groups -------------------------------------------------------------------------------------

    def create_group(self, name: str, *, comments: str = "") -> Group:
        """Create a group. Raises InvalidParameter.*, EntityAlreadyExists.Group."""
        group = Group(group_id=_digits(16), name=group_name(name), comments=_text(comments, "Comments", 128))
        return self.repo.create_group(group)

    def get_group(self, name: str) -> Group:
        """A group. Raises EntityNotExist.Group."""
        return self.repo.get_group(group_name(name))

    def update_group(self, name: str, *, new_name: str | None = None, comments: str | None = None) -> Group:
        """Rename a group or change its comments. Raises EntityNotExist.Group, EntityAlreadyExists.Group."""
        return self.repo.update_group(
            group_name(name),
            new_name=None if new_name is None else group_name(new_name, "NewGroupName"),
            comments=None if comments is None else _text(comments, "NewComments", 128),
        )

    def delete_group(self, name: str) -> None:
        """Delete a group with no members and no policies. Raises DeleteConflict.Group.*."""
        self.repo.delete_group(group_name(name))

    def list_groups(self, *, marker: str = "", max_items_: int | None = None) -> Page[Group]:
        """Groups in name order."""
        return self.repo.list_groups(marker, max_items(max_items_))

    def add_user_to_group(self, user: str, group: str) -> None:
        """Raises EntityNotExist.User/.Group, EntityAlreadyExists.User.Group."""
        self.repo.add_member(group_name(group), user_name(user))

    def remove_user_from_group(self, user: str, group: str) -> None:
        """Raises EntityNotExist.User/.Group/.User.Group."""
        self.repo.remove_member(group_name(group), user_name(user))

    def list_groups_for_user(self, user: str) -> list[Group]:
        """The groups of a user (with when it joined each)."""
        return self.repo.groups_of_user(user_name(user))

    def list_users_for_group(self, group: str, *, marker: str = "", max_items_: int | None = None) -> Page[User]:
        """The members of a group, in name order."""
        return self.repo.users_of_group(group_name(group), marker, max_items(max_items_))

    # --- policies -----------------------------------------------------------------------------------

    @staticmethod
    def _document(text: str, param: str = "PolicyDocument", *, trust: bool = False) -> str:
        if not text:
            raise e.invalid_parameter(param, "Length")
        if len(text) > (MAX_TRUST_POLICY if trust else MAX_POLICY_DOCUMENT):
            raise e.invalid_parameter(param, "Length")
        parse_policy(text, trust=trust)  # MalformedPolicyDocument when it is not a valid policy
        return text

    def create_policy(self, name: str, document: str, *, description: str = "") -> PolicyInfo:
        """Create a custom policy (version v1, the default).

        Raises:
            InvalidParameter.*, MalformedPolicyDocument, EntityAlreadyExists.Policy (also for a System name).
        """
        name = policy_name(name)
        description = _text(description, "Description", 1024)
        if SYSTEM_POLICIES.get(name) is not None:
            raise e.PolicyAlreadyExists()
        return self.repo.create_policy(name, description, self._document(document))

    def get_policy(self, name: str, policy_type: str) -> PolicyInfo:
        """A System or Custom policy with its default version's document. Raises EntityNotExist.Policy."""
        kind = _enum(PolicyType, policy_type, "PolicyType")
        name = policy_name(name)
        if kind is PolicyType.SYSTEM:
            found = SYSTEM_POLICIES.get(name)
            if found is None:
                raise e.PolicyNotExist()
            return _system_info(found, len(self.repo.entities_for_policy(kind, found.name)))
        return self.repo.get_policy(name)

    def delete_policy(self, name: str) -> None:
        """Delete a custom policy. Raises EntityNotExist.Policy, DeleteConflict.Policy.*."""
        name = policy_name(name)
        if SYSTEM_POLICIES.get(name) is not None:
            raise e.SystemPolicyReadOnly()
        self.repo.delete_policy(name)

    def list_policies(
        self, *, policy_type: str | None = None, marker: str = "", max_items_: int | None = None
    ) -> Page[PolicyInfo]:
        """System then Custom policies (or one type), in name order; markers read ``System:…`` / ``Custom:…``."""
        kind = _enum(PolicyType, policy_type, "PolicyType") if policy_type else None
        limit = max_items(max_items_)
        after_type, after = PolicyType.SYSTEM, ""
        if marker:
            marker_type, _, after = marker.partition(":")
            after_type = _enum(PolicyType, marker_type, "Marker")
        items: list[PolicyInfo] = []
        if kind in (None, PolicyType.SYSTEM) and after_type is PolicyType.SYSTEM:
            items = [_system_info(p) for p in sorted(SYSTEM_POLICIES.values(), key=lambda p: p.name) if p.name > after]
            if len(items) > limit:
                return Page(items=items[:limit], next_token=f"{PolicyType.SYSTEM}:{items[limit - 1].name}")
        if kind in (None, PolicyType.CUSTOM):
            start = after if after_type is PolicyType.CUSTOM else ""
            if len(items) == limit:  # the System ones filled the page: is there a Custom one after them?
                more = self.repo.list_policies(start, 1).items
                token = f"{PolicyType.SYSTEM}:{items[-1].name}" if more and items else None
                return Page(items=items, next_token=token)
            page = self.repo.list_policies(start, limit - len(items))
            items.extend(page.items)
            if page.next_token is not None:
                return Page(items=items, next_token=f"{PolicyType.CUSTOM}:{page.next_token}")
        return Page(items=items)

    def create_policy_version(
        self, name: str, document: str, *, set_as_default: bool = False, rotate_strategy: str = RotateStrategy.NONE
    ) -> PolicyVersion:
        """Add a version to a custom policy (at most 5; ``rotate_strategy`` may delete the oldest non-default one).

        Raises:
            EntityNotExist.Policy, MalformedPolicyDocument, LimitExceeded.Policy.Version.
        """
        name = policy_name(name)
        rotate = _enum(RotateStrategy, rotate_strategy, "RotateStrategy")
        if SYSTEM_POLICIES.get(name) is not None:
            raise e.SystemPolicyReadOnly()
        return self.repo.create_version(name, self._document(document), set_default=set_as_default, rotate=rotate)

    def get_policy_version(self, name: str, policy_type: str, version_id: str) -> PolicyVersion:
        """One version (a System policy has only v1). Raises EntityNotExist.Policy(.Version)."""
        kind = _enum(PolicyType, policy_type, "PolicyType")
        number = version_number(version_id)
        if kind is PolicyType.SYSTEM:
            found = SYSTEM_POLICIES.get(policy_name(name))
            if found is None:
                raise e.PolicyNotExist()
            if number != 1:
                raise e.PolicyVersionNotExist()
            return PolicyVersion(version_id="v1", document=found.document, is_default=True, created_ms=0)
        return self.repo.get_version(policy_name(name), number)

    def list_policy_versions(self, name: str, policy_type: str) -> list[PolicyVersion]:
        """Every version of a policy, oldest first."""
        kind = _enum(PolicyType, policy_type, "PolicyType")
        if kind is PolicyType.SYSTEM:
            return [self.get_policy_version(name, kind, "v1")]
        return self.repo.list_versions(policy_name(name))

    def delete_policy_version(self, name: str, version_id: str) -> None:
        """Delete a non-default version. Raises DeleteConflict.Policy.Version.Default."""
        self.repo.delete_version(policy_name(name), version_number(version_id))

    def set_default_policy_version(self, name: str, version_id: str) -> None:
        """Make a version the one in force. Raises EntityNotExist.Policy(.Version)."""
        self.repo.set_default_version(policy_name(name), version_number(version_id))

    # --- roles --------------------------------------------------------------------------------------

    @staticmethod
    def _session(value: int | None) -> int | None:
        if value is not None and not MIN_SESSION_S <= value <= MAX_SESSION_S:
            raise e.invalid_parameter(
                "MaxSessionDuration",
                "Range",
                f'The parameter - "MaxSessionDuration" must be {MIN_SESSION_S} to {MAX_SESSION_S} seconds.',
            )
        return value

    def create_role(
        self, name: str, trust_policy: str, *, description: str = "", max_session_s: int | None = None
    ) -> Role:
        """Create a role. Raises InvalidParameter.*, MalformedPolicyDocument, EntityAlreadyExists.Role."""
        role = Role(
            role_id=_digits(19),
            name=role_name(name),
            arn="",
            description=_text(description, "Description", 1024),
            trust_policy=self._document(trust_policy, "AssumeRolePolicyDocument", trust=True),
            max_session_s=self._session(max_session_s) or DEFAULT_SESSION_S,
        )
        return self.repo.create_role(role)

    def get_role(self, name: str) -> Role:
        """A role. Raises EntityNotExist.Role."""
        return self.repo.get_role(role_name(name))

    def update_role(
        self,
        name: str,
        *,
        trust_policy: str | None = None,
        description: str | None = None,
        max_session_s: int | None = None,
    ) -> Role:
        """Change a role's trust policy, description or longest session (None: unchanged)."""
        return self.repo.update_role(
            role_name(name),
            description=None if description is None else _text(description, "NewDescription", 1024),
            trust_policy=None
            if trust_policy is None
            else self._document(trust_policy, "NewAssumeRolePolicyDocument", trust=True),
            max_session_s=self._session(max_session_s),
        )

    def delete_role(self, name: str) -> None:
        """Delete a role with no policies. Raises EntityNotExist.Role, DeleteConflict.Role.Policy."""
        self.repo.delete_role(role_name(name))

    def list_roles(self, *, marker: str = "", max_items_: int | None = None) -> Page[Role]:
        """Roles in name order."""
        return self.repo.list_roles(marker, max_items(max_items_))

    # --- attachments --------------------------------------------------------------------------------

    _PRINCIPAL_NAME: dict[EntityType, Callable[[str], str]] = {
        EntityType.USER: user_name,
        EntityType.GROUP: group_name,
        EntityType.ROLE: role_name,
    }

    def _policy_ref(self, policy_type: str, policy: str) -> tuple[PolicyType, str]:
        kind = _enum(PolicyType, policy_type, "PolicyType")
        name = policy_name(policy)
        if kind is PolicyType.SYSTEM:
            found = SYSTEM_POLICIES.get(name)
            if found is None:
                raise e.PolicyNotExist()
            name = found.name
        return kind, name

    def attach_policy(self, principal_type: EntityType, principal: str, policy_type: str, policy: str) -> None:
        """Attach a policy to a user, group or role.

        Raises:
            EntityNotExist.User/.Group/.Role/.Policy, EntityAlreadyExists.<Principal>.Policy.
        """
        kind, name = self._policy_ref(policy_type, policy)
        self.repo.attach(principal_type, self._PRINCIPAL_NAME[principal_type](principal), kind, name)

    def detach_policy(self, principal_type: EntityType, principal: str, policy_type: str, policy: str) -> None:
        """Detach a policy. Raises EntityNotExist.* and EntityNotExist.<Principal>.Policy."""
        kind = _enum(PolicyType, policy_type, "PolicyType")
        self.repo.detach(principal_type, self._PRINCIPAL_NAME[principal_type](principal), kind, policy_name(policy))

    def list_policies_for(self, principal_type: EntityType, principal: str) -> list[Attachment]:
        """The policies attached to a user, group or role (only its own: a user's groups' are not listed)."""
        out: list[Attachment] = []
        for kind, key, attached_ms in self.repo.attached_to(
            principal_type, self._PRINCIPAL_NAME[principal_type](principal)
        ):
            info = self._attached_info(kind, key)
            if info is not None:
                out.append(
                    Attachment(
                        policy_name=info.name,
                        policy_type=kind,
                        description=info.description,
                        default_version=info.default_version,
                        attached_ms=attached_ms,
                    )
                )
        return out

    def _attached_info(self, kind: PolicyType, key: str) -> PolicyInfo | None:
        if kind is PolicyType.SYSTEM:
            found = SYSTEM_POLICIES.get(key)
            return None if found is None else _system_info(found)
        try:
            return self.repo.get_policy(key)
        except e.PolicyNotExist:  # deleted meanwhile
            return None

    def list_entities_for_policy(self, policy_type: str, policy: str) -> list[PolicyEntity]:
        """The users, groups and roles a policy is attached to. Raises EntityNotExist.Policy."""
        kind, name = self._policy_ref(policy_type, policy)
        return self.repo.entities_for_policy(kind, name)
