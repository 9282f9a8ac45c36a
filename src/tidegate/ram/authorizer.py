"""Who a request acts as (:class:`Principal`) and whether it may (:class:`Authorizer`).

INTERFACE STUB: the signatures are the contract; bodies are being written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from tidegate.auth.keys import AccessKey, KeyKind, KeyRing
from tidegate.auth.policy import Decision, Policy
from tidegate.clock import now_ms
from tidegate.errors import AuthError
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


class Authorizer:
    """Resolves keys to principals and decides requests against the store's RAM policies.

    Args:
        store: the store holding users, groups, policies, roles and attachments.
        keyring: the server's keys.
        region: the server's region (for ARNs).
        account_id: the account.
        clock: epoch milliseconds.
    """

    def __init__(
        self, store: Store, keyring: KeyRing, *, region: str, account_id: str, clock: Callable[[], int] = now_ms
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.region = region
        self.account_id = account_id
        self.clock = clock

    def root(self) -> Principal:
        """The account itself."""
        return Principal(
            kind=PrincipalKind.ROOT,
            account_id=self.account_id,
            name="root",
            arn=f"acs:ram::{self.account_id}:root",
            key_id=self.keyring.root.id,
        )

    def principal(self, key: AccessKey) -> Principal:
        """The principal an authenticated key acts as."""
        if key.kind is KeyKind.ROOT or (key.kind is KeyKind.TEMPORARY and key.role_name is None):
            return self.root()  # STUB: role-less temporary keys act as root until roles land
        raise NotImplementedError

    def role_principal(self, role_arn: str, session_name: str) -> Principal:
        """The principal of a role the server itself assumes (a flow's execution role, a function's role).

        Raises:
            AccessDenied: no such role.
        """
        raise NotImplementedError

    def decide(self, principal: Principal, action: str, resource: str, context: Context | None = None) -> Decision:
        """The decision for one request (root: always ALLOW)."""
        if principal.is_root:
            return Decision.ALLOW
        raise NotImplementedError

    def check(self, principal: Principal, action: str, resource: str, context: Context | None = None) -> None:
        """Raise :class:`AccessDenied` (and log the denial with the identity) unless the request is allowed."""
        if principal.is_root:
            return
        raise NotImplementedError
