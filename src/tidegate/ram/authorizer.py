"""Who a request acts as (:class:`Principal`) and whether it may (:class:`Authorizer`).

The root key acts as the account and is never denied (no store access: the hot path stays as fast as a
dictionary lookup). A RAM user is allowed what its own policies and its groups' allow; a role session what
the role's policies allow, narrowed by the session's policy; an explicit Deny always wins. The policies of
each principal are cached and dropped when the store's RAM generation changes: at once after a write
through this process, within :attr:`Authorizer.refresh_s` (1 s) after one by another server.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from tidegate.auth.errors import InvalidSecurityToken
from tidegate.auth.keys import AccessKey, KeyKind, KeyRing, UserKeyRecord
from tidegate.auth.policy import AccessRequest, Decision, MalformedPolicyDocument, Policy, evaluate, parse_policy
from tidegate.auth.system_policies import SYSTEM_POLICIES
from tidegate.clock import now_ms
from tidegate.errors import AuthError
from tidegate.ram.model import EntityType, KeyStatus, PolicyType, Role
from tidegate.ram.repo import LOCAL_WRITES, PolicyDocumentRow, RamRepo, name_key
from tidegate.store import Store

__all__ = ["AccessDenied", "Authorizer", "Principal", "PrincipalKind"]


class PrincipalKind(StrEnum):
    """The kinds of identity a request can act as."""

    ROOT = "root"  # the account itself: never denied
    USER = "user"  # a RAM user (its own policies and its groups')
    ROLE = "assumed-role"  # an STS session of a role (role policies narrowed by the session policy)


@dataclass(frozen=True, slots=True, kw_only=True)
class Principal:
    """An authenticated identity.

    Attributes:
        kind: root, user or assumed role.
        account_id: the account.
        name: the user's or role's name (``root`` for the account).
        arn: ``acs:ram::ACCOUNT:root``, ``acs:ram::ACCOUNT:user/NAME`` or
            ``acs:ram::ACCOUNT:assumed-role/ROLE/SESSION`` (as STS GetCallerIdentity answers).
        key_id: the AccessKey ID the request was signed with ("" for a role the server assumes itself).
        session_name: the role session's name (ROLE only).
        session_policy: the policy that narrows a role session (ROLE only, optional).
    """

    kind: PrincipalKind
    account_id: str
    name: str
    arn: str
    key_id: str = ""
    session_name: str | None = None
    session_policy: Policy | None = None

    @property
    def is_root(self) -> bool:
        """Whether this is the account itself (full access)."""
        return self.kind is PrincipalKind.ROOT


def denial_message(action: str, resource: str) -> str:
    """RAM's message for a denied request."""
    return f"You are not authorized to do this action. Resource: {resource} Action: {action}"


class AccessDenied(AuthError):
    """You are not authorized to do this action."""

    code = "AccessDenied"

    def __init__(
        self, message: str | None = None, *, action: str = "", resource: str = "", principal: str = ""
    ) -> None:
        super().__init__(message)
        self.action = action
        self.resource = resource
        self.principal = principal


Context = Mapping[str, tuple[str, ...]]

log = logging.getLogger("tidegate.auth")
_ROLE_ARN = re.compile(r"acs:ram:[^:]*:([^:]+):role/(.+)")
#: Entries a cache may hold before it is emptied (bounds memory against many unknown key ids).
_CACHE_MAX = 10_000
K = TypeVar("K")
V = TypeVar("V")


class Authorizer:
    """Resolves keys to principals and decides requests against the store's RAM policies (thread-safe).

    Args:
        store: the store holding users, groups, policies, roles and attachments.
        keyring: the server's keys.
        region: the server's region (for ARNs).
        account_id: the account.
        clock: epoch milliseconds.
    """

    #: How long (seconds) a cache may serve without asking the store whether RAM changed.
    refresh_s = 1.0

    def __init__(
        self, store: Store, keyring: KeyRing, *, region: str, account_id: str, clock: Callable[[], int] = now_ms
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self.repo = RamRepo(store.database, account_id=account_id, clock=clock)
        self._lock = threading.Lock()
        self._seen_local = -1
        self._seen_generation = -1
        self._checked = 0.0
        self._epoch = 0  # bumped whenever the caches are dropped
        self._policies: dict[tuple[EntityType, str], tuple[Policy, ...]] = {}
        self._keys: dict[str, UserKeyRecord | None] = {}
        self._roles: dict[str, Role | None] = {}
        self._parsed: dict[str, Policy | None] = {}
        self._root = Principal(
            kind=PrincipalKind.ROOT,
            account_id=account_id,
            name="root",
            arn=f"acs:ram::{account_id}:root",
            key_id=keyring.root.id,
        )

    # --- caches -------------------------------------------------------------------------------------

    def _fresh(self) -> int:
        """Drop the caches if RAM changed; return the cache epoch to store results under."""
        now = time.monotonic()
        local = LOCAL_WRITES.value
        if local == self._seen_local and now - self._checked < self.refresh_s:
            return self._epoch
        generation = self.repo.generation()
        with self._lock:
            self._checked, self._seen_local = now, local
            if generation != self._seen_generation:
                self._seen_generation = generation
                self._epoch += 1
                self._policies, self._keys, self._roles = {}, {}, {}
            return self._epoch

    def _remember(self, cache: dict[K, V], key: K, value: V, epoch: int) -> None:
        with self._lock:
            if epoch == self._epoch:  # nothing changed while it was read: safe to keep
                if len(cache) >= _CACHE_MAX:
                    cache.clear()
                cache[key] = value

    def refresh(self) -> None:
        """Forget everything cached (the next question reads the store)."""
        with self._lock:
            self._epoch += 1
            self._seen_local = -1
            self._policies, self._keys, self._roles = {}, {}, {}

    # --- keys and principals ------------------------------------------------------------------------

    def user_key(self, key_id: str) -> UserKeyRecord | None:
        """Find a RAM user's AccessKey (the :class:`KeyRing`'s lookup)."""
        epoch = self._fresh()
        if key_id in self._keys:
            return self._keys[key_id]
        found = self.repo.find_key(key_id)
        record = None if found is None else UserKeyRecord(found[0], found[1], found[2] is KeyStatus.ACTIVE)
        self._remember(self._keys, key_id, record, epoch)
        return record

    def root(self) -> Principal:
        """The account itself."""
        return self._root

    def principal(self, key: AccessKey) -> Principal:
        """The principal an authenticated key acts as."""
        if key.kind is KeyKind.ROOT:
            return self._root
        if key.kind is KeyKind.USER and key.user_name:
            return Principal(
                kind=PrincipalKind.USER,
                account_id=self.account_id,
                name=key.user_name,
                arn=f"acs:ram::{self.account_id}:user/{key.user_name}",
                key_id=key.id,
            )
        if key.kind is KeyKind.TEMPORARY:
            return self._session_of(key)
        raise AccessDenied("The AccessKey acts as no known identity.")

    def _session_of(self, key: AccessKey) -> Principal:
        """The principal of temporary credentials: the session of the role their token names.

        The token was issued by this server (its MAC is checked), so its fields are trusted. The role must
        still exist and be the one the session was issued for: a role deleted and created again under the
        same name has a new id, and the old sessions end with the old role.

        Raises:
            AccessDenied: the credentials name no role (they carry no permission), or their session
                policy no longer parses.
            InvalidSecurityToken: the role was deleted since the session was issued.
        """
        if not key.role_name or not key.session_name:
            raise AccessDenied("Temporary credentials that name no role carry no permission: assume a role.")
        role = self.find_role(key.role_name)
        if role is None or (key.role_id and role.role_id != key.role_id):
            raise InvalidSecurityToken(
                f"The security token belongs to a session of the role {key.role_name}, which was deleted; "
                "assume the role again."
            )
        session_policy = None
        if key.session_policy:
            session_policy = self._parse(key.session_policy)
            if session_policy is None:
                raise AccessDenied("The session policy of these credentials is not valid.")
        return self._session(role.name, key.session_name, session_policy, key.id)

    def _session(self, role: str, session_name: str, policy: Policy | None, key_id: str) -> Principal:
        return Principal(
            kind=PrincipalKind.ROLE,
            account_id=self.account_id,
            name=role,
            arn=f"acs:ram::{self.account_id}:assumed-role/{role}/{session_name}",
            key_id=key_id,
            session_name=session_name,
            session_policy=policy,
        )

    def find_role(self, name: str) -> Role | None:
        """The role ``name`` (any case), or None (cached like the policies)."""
        epoch = self._fresh()
        key = name_key(name)
        if key in self._roles:
            return self._roles[key]
        role = self.repo.find_role(name)
        self._remember(self._roles, key, role, epoch)
        return role

    def role_principal(self, role_arn: str, session_name: str) -> Principal:
        """The principal of a role the server itself assumes (a flow's execution role, a function's role).

        Raises:
            AccessDenied: the ARN is not a role of this account, or no such role.
        """
        match = _ROLE_ARN.fullmatch(role_arn)
        if match is None or len(role_arn) > 1024:
            raise AccessDenied(f"The role ARN {role_arn[:200]!r} is not valid: use acs:ram::ACCOUNT:role/NAME.")
        if match.group(1) != self.account_id:
            raise AccessDenied(f"The role {role_arn[:200]} belongs to another account.")
        role = self.find_role(match.group(2))
        if role is None:
            raise AccessDenied(f"The role {role_arn[:200]} does not exist.")
        return self._session(role.name, session_name, None, "")

    # --- decisions ----------------------------------------------------------------------------------

    def _parse(self, text: str) -> Policy | None:
        if text not in self._parsed:
            try:
                parsed: Policy | None = parse_policy(text)
            except MalformedPolicyDocument:  # stored before a stricter parser: it grants nothing
                log.warning("a stored policy document is no longer valid; it is ignored")
                parsed = None
            with self._lock:
                if len(self._parsed) >= _CACHE_MAX:
                    self._parsed.clear()
                self._parsed[text] = parsed
        return self._parsed[text]

    def _to_policies(self, rows: list[PolicyDocumentRow]) -> tuple[Policy, ...]:
        out: list[Policy] = []
        for kind, key, document in rows:
            if kind is PolicyType.SYSTEM:
                found = SYSTEM_POLICIES.get(key)
                if found is not None:
                    out.append(found.policy)
            elif document is not None:
                parsed = self._parse(document)
                if parsed is not None:
                    out.append(parsed)
        return tuple(out)

    def policies(self, principal: Principal) -> tuple[Policy, ...]:
        """The identity policies in force for a user or role (none for one that no longer exists)."""
        kind = EntityType.USER if principal.kind is PrincipalKind.USER else EntityType.ROLE
        cache_key = (kind, name_key(principal.name))
        epoch = self._fresh()
        cached = self._policies.get(cache_key)
        if cached is not None:
            return cached
        if kind is EntityType.USER:
            rows = self.repo.user_documents(principal.name)
        else:
            rows = self.repo.role_documents(principal.name)
        found = () if rows is None else self._to_policies(rows)
        self._remember(self._policies, cache_key, found, epoch)
        return found

    def decide(self, principal: Principal, action: str, resource: str, context: Context | None = None) -> Decision:
        """The decision for one request (root: always ALLOW)."""
        if principal.is_root:
            return Decision.ALLOW
        request = AccessRequest(action=action, resource=resource, context=context or {})
        return evaluate(self.policies(principal), request, session=principal.session_policy)

    def check(self, principal: Principal, action: str, resource: str, context: Context | None = None) -> None:
        """Raise :class:`AccessDenied` (and log the denial with the identity) unless the request is allowed."""
        if principal.is_root:
            return
        decision = self.decide(principal, action, resource, context)
        if decision is not Decision.ALLOW:
            log.info("access denied (%s): %s may not %s on %s", decision, principal.arn, action, resource)
            raise AccessDenied(
                denial_message(action, resource), action=action, resource=resource, principal=principal.arn
            )
