"""RAM's rows in the store: one transaction per method, queries from ``store/sql/ram.sql``.

The repository keeps the model consistent (names unique case-insensitively, nothing deleted while something
depends on it, at most N keys or versions) and raises RAM's errors for it; the service above validates input.
Every write bumps ``ram_state.generation`` in its transaction, and this process's :data:`LOCAL_WRITES` once
it has committed, so authorizers drop their caches (at once here, within a second on other servers).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from tidegate.clock import now_ms
from tidegate.ram import errors as e
from tidegate.ram.model import (
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
from tidegate.store.database import Database, Tx, load_queries
from tidegate.store.records import Page

__all__ = ["LOCAL_WRITES", "MAX_KEYS_PER_USER", "MAX_POLICY_VERSIONS", "PolicyDocumentRow", "RamRepo", "name_key"]

#: AccessKeys a user may have (RAM's limit).
MAX_KEYS_PER_USER = 2
#: Versions a custom policy may have (RAM's limit).
MAX_POLICY_VERSIONS = 5

#: (policy type, policy name key, the default version's document: None for a System policy).
PolicyDocumentRow = tuple[PolicyType, str, str | None]


class _LocalWrites:
    """A counter of RAM writes committed by this process (authorizers compare it to what they last saw)."""

    def __init__(self) -> None:
        self._count = itertools.count(1)
        self._lock = threading.Lock()
        self.value = 0

    def bump(self) -> None:
        with self._lock:
            self.value = next(self._count)


LOCAL_WRITES = _LocalWrites()
T = TypeVar("T")


def name_key(name: str) -> str:
    """The case-insensitive key of a RAM name."""
    return name.lower()


def version_id(number: int) -> str:
    """``v1``, ``v2``…"""
    return f"v{number}"


def _user(row: Mapping[str, Any]) -> User:
    return User(
        user_id=row["user_id"],
        name=row["name"],
        display_name=row["display_name"],
        comments=row["comments"],
        email=row["email"],
        mobile=row["mobile"],
        created_ms=int(row["created_ms"]),
        modified_ms=int(row["modified_ms"]),
    )


def _group(row: Mapping[str, Any]) -> Group:
    joined = row.get("joined_ms")
    return Group(
        group_id=row["group_id"],
        name=row["name"],
        comments=row["comments"],
        created_ms=int(row["created_ms"]),
        modified_ms=int(row["modified_ms"]),
        joined_ms=None if joined is None else int(joined),
    )


def _policy(row: Mapping[str, Any], attachment_count: int = 0) -> PolicyInfo:
    return PolicyInfo(
        name=row["name"],
        type=PolicyType.CUSTOM,
        description=row["description"],
        default_version=version_id(int(row["default_no"])),
        document=row["document"],
        created_ms=int(row["created_ms"]),
        modified_ms=int(row["modified_ms"]),
        attachment_count=attachment_count,
    )


def _key(row: Mapping[str, Any], user_name: str) -> UserAccessKey:
    return UserAccessKey(
        key_id=row["key_id"], user_name=user_name, status=KeyStatus(row["status"]), created_ms=int(row["created_ms"])
    )


_NOT_ATTACHED: dict[EntityType, type[e.EntityNotExist]] = {
    EntityType.USER: e.PolicyNotAttachedToUser,
    EntityType.GROUP: e.PolicyNotAttachedToGroup,
    EntityType.ROLE: e.PolicyNotAttachedToRole,
}
_ALREADY_ATTACHED: dict[EntityType, type[e.EntityAlreadyExists]] = {
    EntityType.USER: e.PolicyAlreadyAttachedToUser,
    EntityType.GROUP: e.PolicyAlreadyAttachedToGroup,
    EntityType.ROLE: e.PolicyAlreadyAttachedToRole,
}


class RamRepo:
    """Reads and writes of the RAM tables (thread-safe; each method is one transaction).

    Args:
        db: the store's database (``store.database``).
        account_id: the account (for role ARNs).
        clock: epoch milliseconds.
    """

    def __init__(self, db: Database, *, account_id: str, clock: Callable[[], int] = now_ms) -> None:
        self.db = db
        self.account_id = account_id
        self.clock = clock
        self.q = load_queries(db.dialect, "ram")

    # --- plumbing -----------------------------------------------------------------------------------

    def _all(self, tx: Tx, name: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return tx.raw(self.q[name], params)

    def _one(self, tx: Tx, name: str, params: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        rows = tx.raw(self.q[name], params)
        return rows[0] if rows else None

    def _count(self, tx: Tx, name: str, params: Mapping[str, Any]) -> int:
        row = self._one(tx, name, params)
        return int(row["n"]) if row else 0

    @contextmanager
    def _write(self) -> Iterator[Tx]:
        with self.db.write() as tx:
            yield tx
            tx.raw(self.q["bump_generation"])
            tx.on_commit.append(LOCAL_WRITES.bump)

    def _user_row(self, tx: Tx, name: str) -> dict[str, Any]:
        row = self._one(tx, "get_user", {"name_key": name_key(name)})
        if row is None:
            raise e.UserNotExist()
        return row

    def _group_row(self, tx: Tx, name: str) -> dict[str, Any]:
        row = self._one(tx, "get_group", {"name_key": name_key(name)})
        if row is None:
            raise e.GroupNotExist()
        return row

    def _role_row(self, tx: Tx, name: str) -> dict[str, Any]:
        row = self._one(tx, "get_role", {"name_key": name_key(name)})
        if row is None:
            raise e.RoleNotExist()
        return row

    def _policy_row(self, tx: Tx, name: str) -> dict[str, Any]:
        row = self._one(tx, "get_policy", {"name_key": name})
        if row is None:
            raise e.PolicyNotExist()
        return row

    def _principal_id(self, tx: Tx, principal_type: EntityType, name: str) -> str:
        if principal_type is EntityType.USER:
            return str(self._user_row(tx, name)["user_id"])
        if principal_type is EntityType.GROUP:
            return str(self._group_row(tx, name)["group_id"])
        return str(self._role_row(tx, name)["role_id"])

    def _attached(self, tx: Tx, principal_type: EntityType, principal_id: str) -> int:
        return self._count(tx, "count_attached_to", {"principal_type": principal_type, "principal_id": principal_id})

    def generation(self) -> int:
        """The store's RAM generation (bumped by every RAM write)."""
        with self.db.read() as tx:
            row = self._one(tx, "generation")
        return int(row["generation"]) if row else 0

    # --- users --------------------------------------------------------------------------------------

    def create_user(self, user: User) -> User:
        """Store a new user. Raises EntityAlreadyExists.User."""
        params = {
            "user_id": user.user_id,
            "name": user.name,
            "name_key": name_key(user.name),
            "display_name": user.display_name,
            "comments": user.comments,
            "email": user.email,
            "mobile": user.mobile,
            "now_ms": self.clock(),
        }
        with self._write() as tx:
            row = self._one(tx, "insert_user", params)
            if row is None:
                raise e.UserAlreadyExists()
        return _user(row)

    def get_user(self, name: str) -> User:
        """The user ``name``. Raises EntityNotExist.User."""
        with self.db.read() as tx:
            return _user(self._user_row(tx, name))

    def update_user(self, name: str, changes: Mapping[str, str]) -> User:
        """Change a user's name, display name, comments, email or mobile (keys of ``changes``)."""
        with self._write() as tx:
            row = self._user_row(tx, name)
            new = {k: row[k] for k in ("name", "display_name", "comments", "email", "mobile")} | dict(changes)
            if name_key(new["name"]) != row["name_key"] and self._one(
                tx, "get_user", {"name_key": name_key(new["name"])}
            ):
                raise e.UserAlreadyExists()
            params = {**new, "name_key": name_key(new["name"]), "user_id": row["user_id"], "now_ms": self.clock()}
            updated = self._one(tx, "update_user", params)
        assert updated is not None
        return _user(updated)

    def delete_user(self, name: str) -> None:
        """Delete a user. Raises EntityNotExist.User, DeleteConflict.User.AccessKey/.Group/.Policy."""
        with self._write() as tx:
            user_id = self._user_row(tx, name)["user_id"]
            if self._count(tx, "count_keys", {"user_id": user_id}):
                raise e.UserHasAccessKeys()
            if self._count(tx, "count_groups_of_user", {"user_id": user_id}):
                raise e.UserInGroups()
            if self._attached(tx, EntityType.USER, user_id):
                raise e.UserHasPolicies()
            self._one(tx, "delete_user", {"user_id": user_id})

    def list_users(self, marker: str, limit: int) -> Page[User]:
        """Users in name order after ``marker``."""
        with self.db.read() as tx:
            rows = self._all(tx, "list_users", {"marker": marker, "limit": limit + 1})
        return _page([_user(r) for r in rows], limit, lambda u: name_key(u.name))

    # --- access keys --------------------------------------------------------------------------------

    def create_key(self, user_name: str, key_id: str, salt: str) -> UserAccessKey:
        """Add an Active AccessKey. Raises EntityNotExist.User, LimitExceeded.User.AccessKey."""
        with self._write() as tx:
            user = self._user_row(tx, user_name)
            if self._count(tx, "count_keys", {"user_id": user["user_id"]}) >= MAX_KEYS_PER_USER:
                raise e.AccessKeyLimitExceeded()
            params = {
                "key_id": key_id,
                "user_id": user["user_id"],
                "status": KeyStatus.ACTIVE,
                "salt": salt,
                "now_ms": self.clock(),
            }
            row = self._one(tx, "insert_key", params)
        assert row is not None
        return _key(row, user["name"])

    def set_key_status(self, user_name: str, key_id: str, status: KeyStatus) -> UserAccessKey:
        """Activate or deactivate a key. Raises EntityNotExist.User, EntityNotExist.User.AccessKey."""
        with self._write() as tx:
            user = self._user_row(tx, user_name)
            row = self._one(tx, "update_key_status", {"key_id": key_id, "user_id": user["user_id"], "status": status})
            if row is None:
                raise e.AccessKeyNotExist()
        return _key(row, user["name"])

    def delete_key(self, user_name: str, key_id: str) -> None:
        """Delete a key. Raises EntityNotExist.User, EntityNotExist.User.AccessKey."""
        with self._write() as tx:
            user = self._user_row(tx, user_name)
            if self._one(tx, "delete_key", {"key_id": key_id, "user_id": user["user_id"]}) is None:
                raise e.AccessKeyNotExist()

    def list_keys(self, user_name: str) -> list[UserAccessKey]:
        """A user's keys, oldest first. Raises EntityNotExist.User."""
        with self.db.read() as tx:
            user = self._user_row(tx, user_name)
            rows = self._all(tx, "list_keys", {"user_id": user["user_id"]})
        return [_key(r, user["name"]) for r in rows]

    def find_key(self, key_id: str) -> tuple[str, str, KeyStatus] | None:
        """``(user name, salt, status)`` of a key, or None."""
        with self.db.read() as tx:
            row = self._one(tx, "get_key", {"key_id": key_id})
        return None if row is None else (row["user_name"], row["salt"], KeyStatus(row["status"]))

    # --- groups -------------------------------------------------------------------------------------

    def create_group(self, group: Group) -> Group:
        """Store a new group. Raises EntityAlreadyExists.Group."""
        params = {
            "group_id": group.group_id,
            "name": group.name,
            "name_key": name_key(group.name),
            "comments": group.comments,
            "now_ms": self.clock(),
        }
        with self._write() as tx:
            row = self._one(tx, "insert_group", params)
            if row is None:
                raise e.GroupAlreadyExists()
        return _group(row)

    def get_group(self, name: str) -> Group:
        """The group ``name``. Raises EntityNotExist.Group."""
        with self.db.read() as tx:
            return _group(self._group_row(tx, name))

    def update_group(self, name: str, *, new_name: str | None, comments: str | None) -> Group:
        """Rename a group or change its comments."""
        with self._write() as tx:
            row = self._group_row(tx, name)
            target = new_name if new_name is not None else row["name"]
            if name_key(target) != row["name_key"] and self._one(tx, "get_group", {"name_key": name_key(target)}):
                raise e.GroupAlreadyExists()
            params = {
                "group_id": row["group_id"],
                "name": target,
                "name_key": name_key(target),
                "comments": comments if comments is not None else row["comments"],
                "now_ms": self.clock(),
            }
            updated = self._one(tx, "update_group", params)
        assert updated is not None
        return _group(updated)

    def delete_group(self, name: str) -> None:
        """Delete a group. Raises EntityNotExist.Group, DeleteConflict.Group.User/.Policy."""
        with self._write() as tx:
            group_id = self._group_row(tx, name)["group_id"]
            if self._count(tx, "count_members", {"group_id": group_id}):
                raise e.GroupHasUsers()
            if self._attached(tx, EntityType.GROUP, group_id):
                raise e.GroupHasPolicies()
            self._one(tx, "delete_group", {"group_id": group_id})

    def list_groups(self, marker: str, limit: int) -> Page[Group]:
        """Groups in name order after ``marker``."""
        with self.db.read() as tx:
            rows = self._all(tx, "list_groups", {"marker": marker, "limit": limit + 1})
        return _page([_group(r) for r in rows], limit, lambda g: name_key(g.name))

    def add_member(self, group_name: str, user_name: str) -> None:
        """Add a user to a group. Raises EntityNotExist.User/.Group, EntityAlreadyExists.User.Group."""
        with self._write() as tx:
            group_id = self._group_row(tx, group_name)["group_id"]
            user_id = self._user_row(tx, user_name)["user_id"]
            params = {"group_id": group_id, "user_id": user_id, "now_ms": self.clock()}
            if self._one(tx, "add_member", params) is None:
                raise e.UserAlreadyInGroup()

    def remove_member(self, group_name: str, user_name: str) -> None:
        """Remove a user from a group. Raises EntityNotExist.User/.Group/.User.Group."""
        with self._write() as tx:
            group_id = self._group_row(tx, group_name)["group_id"]
            user_id = self._user_row(tx, user_name)["user_id"]
            if self._one(tx, "remove_member", {"group_id": group_id, "user_id": user_id}) is None:
                raise e.UserNotInGroup()

    def groups_of_user(self, user_name: str) -> list[Group]:
        """The groups a user belongs to, in name order."""
        with self.db.read() as tx:
            user_id = self._user_row(tx, user_name)["user_id"]
            rows = self._all(tx, "groups_of_user", {"user_id": user_id})
        return [_group(r) for r in rows]

    def users_of_group(self, group_name: str, marker: str, limit: int) -> Page[User]:
        """A group's users in name order after ``marker``."""
        with self.db.read() as tx:
            group_id = self._group_row(tx, group_name)["group_id"]
            rows = self._all(tx, "users_of_group", {"group_id": group_id, "marker": marker, "limit": limit + 1})
        return _page([_user(r) for r in rows], limit, lambda u: name_key(u.name))

    # --- custom policies ----------------------------------------------------------------------------

    def create_policy(self, name: str, description: str, document: str) -> PolicyInfo:
        """Store a custom policy with its version v1 (the default). Raises EntityAlreadyExists.Policy."""
        key, now = name, self.clock()
        with self._write() as tx:
            params = {"name_key": key, "name": name, "description": description, "now_ms": now}
            if self._one(tx, "insert_policy", params) is None:
                raise e.PolicyAlreadyExists()
            self._all(tx, "insert_version", {"policy_key": key, "version_no": 1, "document": document, "now_ms": now})
            row = self._policy_row(tx, name)
        return _policy(row)

    def get_policy(self, name: str) -> PolicyInfo:
        """A custom policy with its attachment count. Raises EntityNotExist.Policy."""
        with self.db.read() as tx:
            row = self._policy_row(tx, name)
            count = sum(int(r["n"]) for r in self._attached_by_type(tx, row["name_key"]))
        return _policy(row, count)

    def _attached_by_type(self, tx: Tx, key: str) -> list[dict[str, Any]]:
        return self._all(tx, "attached_by_type", {"policy_type": PolicyType.CUSTOM, "policy_key": key})

    def list_policies(self, marker: str, limit: int) -> Page[PolicyInfo]:
        """Custom policies in name order after ``marker``."""
        with self.db.read() as tx:
            rows = self._all(tx, "list_policies", {"marker": marker, "limit": limit + 1})
        return _page([_policy(r) for r in rows], limit, lambda p: p.name)

    def delete_policy(self, name: str) -> None:
        """Delete a custom policy. Raises EntityNotExist.Policy, DeleteConflict.Policy.User/.Group/.Role/.Version."""
        conflicts: dict[str, type[e.DeleteConflict]] = {
            EntityType.USER: e.PolicyAttachedToUser,
            EntityType.GROUP: e.PolicyAttachedToGroup,
            EntityType.ROLE: e.PolicyAttachedToRole,
        }
        with self._write() as tx:
            key = self._policy_row(tx, name)["name_key"]
            counts = {r["principal_type"]: int(r["n"]) for r in self._attached_by_type(tx, key)}
            for kind in EntityType:
                if counts.get(kind):
                    raise conflicts[kind]()
            if len(self._all(tx, "list_versions", {"policy_key": key})) > 1:
                raise e.PolicyHasVersions()
            self._all(tx, "delete_versions", {"policy_key": key})
            self._one(tx, "delete_policy", {"name_key": key})

    def create_version(self, name: str, document: str, *, set_default: bool, rotate: RotateStrategy) -> PolicyVersion:
        """Add the next version. Raises EntityNotExist.Policy, LimitExceeded.Policy.Version."""
        now = self.clock()
        with self._write() as tx:
            row = self._policy_row(tx, name)
            key, default_no, next_no = row["name_key"], int(row["default_no"]), int(row["next_no"])
            versions = [int(v["version_no"]) for v in self._all(tx, "list_versions", {"policy_key": key})]
            if len(versions) >= MAX_POLICY_VERSIONS:
                if rotate is not RotateStrategy.DELETE_OLDEST:
                    raise e.PolicyVersionLimitExceeded()
                oldest = min(v for v in versions if v != default_no)
                self._one(tx, "delete_version", {"policy_key": key, "version_no": oldest})
            self._all(
                tx, "insert_version", {"policy_key": key, "version_no": next_no, "document": document, "now_ms": now}
            )
            params = {
                "name_key": key,
                "default_no": next_no if set_default else default_no,
                "next_no": next_no + 1,
                "now_ms": now,
            }
            self._one(tx, "update_policy_versions", params)
        return PolicyVersion(version_id=version_id(next_no), document=document, is_default=set_default, created_ms=now)

    def get_version(self, name: str, number: int) -> PolicyVersion:
        """One version. Raises EntityNotExist.Policy, EntityNotExist.Policy.Version."""
        with self.db.read() as tx:
            row = self._policy_row(tx, name)
            found = self._one(tx, "get_version", {"policy_key": row["name_key"], "version_no": number})
        if found is None:
            raise e.PolicyVersionNotExist()
        return _version(found, int(row["default_no"]))

    def list_versions(self, name: str) -> list[PolicyVersion]:
        """Every version of a custom policy, oldest first."""
        with self.db.read() as tx:
            row = self._policy_row(tx, name)
            rows = self._all(tx, "list_versions", {"policy_key": row["name_key"]})
        return [_version(r, int(row["default_no"])) for r in rows]

    def delete_version(self, name: str, number: int) -> None:
        """Delete a version. Raises EntityNotExist.Policy(.Version), DeleteConflict.Policy.Version.Default."""
        with self._write() as tx:
            row = self._policy_row(tx, name)
            if number == int(row["default_no"]):
                if self._one(tx, "get_version", {"policy_key": row["name_key"], "version_no": number}):
                    raise e.DefaultVersionUndeletable()
            if self._one(tx, "delete_version", {"policy_key": row["name_key"], "version_no": number}) is None:
                raise e.PolicyVersionNotExist()

    def set_default_version(self, name: str, number: int) -> None:
        """Make a version the default. Raises EntityNotExist.Policy(.Version)."""
        with self._write() as tx:
            row = self._policy_row(tx, name)
            if self._one(tx, "get_version", {"policy_key": row["name_key"], "version_no": number}) is None:
                raise e.PolicyVersionNotExist()
            params = {
                "name_key": row["name_key"],
                "default_no": number,
                "next_no": row["next_no"],
                "now_ms": self.clock(),
            }
            self._one(tx, "update_policy_versions", params)

    # --- roles --------------------------------------------------------------------------------------

    def _role(self, row: Mapping[str, Any]) -> Role:
        return Role(
            role_id=row["role_id"],
            name=row["name"],
            arn=f"acs:ram::{self.account_id}:role/{row['name']}",
            description=row["description"],
            trust_policy=row["trust_policy"],
            max_session_s=int(row["max_session_s"]),
            created_ms=int(row["created_ms"]),
            modified_ms=int(row["modified_ms"]),
        )

    def create_role(self, role: Role) -> Role:
        """Store a new role. Raises EntityAlreadyExists.Role."""
        params = {
            "role_id": role.role_id,
            "name": role.name,
            "name_key": name_key(role.name),
            "description": role.description,
            "trust_policy": role.trust_policy,
            "max_session_s": role.max_session_s,
            "now_ms": self.clock(),
        }
        with self._write() as tx:
            row = self._one(tx, "insert_role", params)
            if row is None:
                raise e.RoleAlreadyExists()
        return self._role(row)

    def get_role(self, name: str) -> Role:
        """The role ``name``. Raises EntityNotExist.Role."""
        with self.db.read() as tx:
            return self._role(self._role_row(tx, name))

    def find_role(self, name: str) -> Role | None:
        """The role ``name``, or None."""
        with self.db.read() as tx:
            row = self._one(tx, "get_role", {"name_key": name_key(name)})
        return None if row is None else self._role(row)

    def update_role(
        self, name: str, *, description: str | None, trust_policy: str | None, max_session_s: int | None
    ) -> Role:
        """Change a role's description, trust policy or longest session."""
        with self._write() as tx:
            row = self._role_row(tx, name)
            params = {
                "role_id": row["role_id"],
                "description": row["description"] if description is None else description,
                "trust_policy": row["trust_policy"] if trust_policy is None else trust_policy,
                "max_session_s": row["max_session_s"] if max_session_s is None else max_session_s,
                "now_ms": self.clock(),
            }
            updated = self._one(tx, "update_role", params)
        assert updated is not None
        return self._role(updated)

    def delete_role(self, name: str) -> None:
        """Delete a role. Raises EntityNotExist.Role, DeleteConflict.Role.Policy."""
        with self._write() as tx:
            role_id = self._role_row(tx, name)["role_id"]
            if self._attached(tx, EntityType.ROLE, role_id):
                raise e.RoleHasPolicies()
            self._one(tx, "delete_role", {"role_id": role_id})

    def list_roles(self, marker: str, limit: int) -> Page[Role]:
        """Roles in name order after ``marker``."""
        with self.db.read() as tx:
            rows = self._all(tx, "list_roles", {"marker": marker, "limit": limit + 1})
        return _page([self._role(r) for r in rows], limit, lambda r: name_key(r.name))

    # --- attachments --------------------------------------------------------------------------------

    def attach(self, principal_type: EntityType, principal: str, policy_type: PolicyType, policy: str) -> None:
        """Attach a policy (a System one must be known to the caller). Raises EntityNotExist.*,
        EntityAlreadyExists.<Principal>.Policy."""
        with self._write() as tx:
            principal_id = self._principal_id(tx, principal_type, principal)
            if policy_type is PolicyType.CUSTOM:
                self._policy_row(tx, policy)
            params = {
                "principal_type": principal_type,
                "principal_id": principal_id,
                "policy_type": policy_type,
                "policy_key": policy,
                "now_ms": self.clock(),
            }
            if self._one(tx, "attach", params) is None:
                raise _ALREADY_ATTACHED[principal_type]()

    def detach(self, principal_type: EntityType, principal: str, policy_type: PolicyType, policy: str) -> None:
        """Detach a policy. Raises EntityNotExist.* and EntityNotExist.<Principal>.Policy."""
        with self._write() as tx:
            principal_id = self._principal_id(tx, principal_type, principal)
            params = {
                "principal_type": principal_type,
                "principal_id": principal_id,
                "policy_type": policy_type,
                "policy_key": policy,
            }
            if self._one(tx, "detach", params) is None:
                raise _NOT_ATTACHED[principal_type]()

    def attached_to(self, principal_type: EntityType, principal: str) -> list[tuple[PolicyType, str, int]]:
        """``(policy type, policy name key, attached ms)`` of each policy attached to a principal."""
        with self.db.read() as tx:
            principal_id = self._principal_id(tx, principal_type, principal)
            rows = self._all(tx, "attached_to", {"principal_type": principal_type, "principal_id": principal_id})
        return [(PolicyType(r["policy_type"]), r["policy_key"], int(r["attached_ms"])) for r in rows]

    def entities_for_policy(self, policy_type: PolicyType, policy: str) -> list[PolicyEntity]:
        """The users, groups and roles a policy is attached to."""
        params = {
            "policy_type": policy_type,
            "policy_key": policy,
            "user_type": EntityType.USER,
            "group_type": EntityType.GROUP,
            "role_type": EntityType.ROLE,
        }
        with self.db.read() as tx:
            if policy_type is PolicyType.CUSTOM:
                self._policy_row(tx, policy)
            rows = self._all(tx, "entities_for_policy", params)
        return [
            PolicyEntity(
                principal_type=EntityType(r["principal_type"]),
                name=r["name"] or "",
                display_name=r["display_name"] or "",
                comments=r["comments"] or "",
                attached_ms=int(r["attached_ms"]),
            )
            for r in rows
        ]

    # --- what the authorizer reads ------------------------------------------------------------------

    def user_documents(self, user_name: str) -> list[PolicyDocumentRow] | None:
        """The policies in force for a user (its own and its groups'); None when there is no such user."""
        with self.db.read() as tx:
            row = self._one(tx, "get_user", {"name_key": name_key(user_name)})
            if row is None:
                return None
            params = {
                "custom": PolicyType.CUSTOM,
                "user_type": EntityType.USER,
                "group_type": EntityType.GROUP,
                "user_id": row["user_id"],
            }
            rows = self._all(tx, "user_policy_documents", params)
        return [(PolicyType(r["policy_type"]), r["policy_key"], r["document"]) for r in rows]

    def role_documents(self, role_name: str) -> list[PolicyDocumentRow] | None:
        """The policies attached to a role; None when there is no such role."""
        with self.db.read() as tx:
            row = self._one(tx, "get_role", {"name_key": name_key(role_name)})
            if row is None:
                return None
            params = {"custom": PolicyType.CUSTOM, "role_type": EntityType.ROLE, "role_id": row["role_id"]}
            rows = self._all(tx, "role_policy_documents", params)
        return [(PolicyType(r["policy_type"]), r["policy_key"], r["document"]) for r in rows]


def _version(row: Mapping[str, Any], default_no: int) -> PolicyVersion:
    number = int(row["version_no"])
    return PolicyVersion(
        version_id=version_id(number),
        document=row["document"],
        is_default=number == default_no,
        created_ms=int(row["created_ms"]),
    )


def _page(items: list[T], limit: int, key: Callable[[T], str]) -> Page[T]:
    if len(items) > limit:
        items = items[:limit]
        return Page(items=items, next_token=key(items[-1]))
    return Page(items=items)
