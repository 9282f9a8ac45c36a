"""tidegate.ram: the account's users, groups, policies and roles (RAM), and the one authorizer.

:class:`RamService` manages the RAM entities in the store; :class:`Authorizer` resolves who a request acts
as (:class:`Principal`) and decides what it may do, raising :class:`AccessDenied`. Every protocol and every
integration asks the authorizer before acting. See docs/ram.md.
"""

from __future__ import annotations

from tidegate.ram.authorizer import AccessDenied, Authorizer, Principal, PrincipalKind
from tidegate.ram.errors import RamError
from tidegate.ram.model import EntityType, KeyStatus, PolicyType, PrincipalType, RotateStrategy
from tidegate.ram.service import RamService

__all__ = [
    "AccessDenied",
    "Authorizer",
    "EntityType",
    "KeyStatus",
    "PolicyType",
    "Principal",
    "PrincipalKind",
    "PrincipalType",
    "RamError",
    "RamService",
    "RotateStrategy",
]
