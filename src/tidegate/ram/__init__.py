"""tidegate.ram: the account's users, groups, policies and roles (RAM), STS, and the one authorizer.

INTERFACE STUB being filled in: :class:`Principal` (who a request acts as), :class:`AccessDenied`, and
:class:`Authorizer`, which every protocol and every integration asks before acting. See docs/auth.md.
"""

from __future__ import annotations

from tidegate.ram.authorizer import AccessDenied, Authorizer, Principal, PrincipalKind

__all__ = ["AccessDenied", "Authorizer", "Principal", "PrincipalKind"]
