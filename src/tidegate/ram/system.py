"""The System policies (built in, read-only) as RAM lists them: name, description, document.

They are defined in :mod:`tidegate.auth.system_policies`; this module adapts them for the RAM service and
the authorizer (looked up case-insensitively, like every RAM name).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tidegate.auth.policy import Policy, parse_policy

__all__ = ["SystemPolicy", "system_policies", "system_policy"]


@dataclass(frozen=True)
class SystemPolicy:
    """A built-in policy."""

    name: str
    description: str
    document: str

    @functools.cached_property
    def policy(self) -> Policy:
        return parse_policy(self.document)


@functools.cache
def _by_key() -> Mapping[str, SystemPolicy]:
    try:
        module: Any = importlib.import_module("tidegate.auth.system_policies")
    except ModuleNotFoundError:  # the catalogue is not there yet: no System policy
        return {}
    found: dict[str, SystemPolicy] = {}
    for name, value in module.SYSTEM_POLICIES.items():
        document = getattr(value, "text", None) or getattr(value, "document", None) or str(value)
        description = getattr(value, "description", "")
        found[name.lower()] = SystemPolicy(name=name, description=description, document=document)
    return found


def system_policies() -> list[SystemPolicy]:
    """Every System policy, in name order."""
    return sorted(_by_key().values(), key=lambda p: p.name.lower())


def system_policy(name: str) -> SystemPolicy | None:
    """The System policy ``name`` (any case), or None."""
    return _by_key().get(name.lower())
