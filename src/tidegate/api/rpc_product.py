"""An RPC product other than Serverless Workflow (RAM, STS) served on the same front door: its actions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tidegate.api.context import AppContext
from tidegate.api.rpc_params import Params
from tidegate.ram import Principal

__all__ = ["ProductAction", "RpcCall", "RpcProduct"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RpcCall:
    """One authenticated, authorized call of a product's action."""

    ctx: AppContext
    principal: Principal
    params: Params
    #: The request's condition keys (``acs:SourceIp``…), for actions that evaluate policies themselves.
    context: Mapping[str, tuple[str, ...]]


ProductAction = Callable[[RpcCall], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RpcProduct:
    """An RPC product other than Serverless Workflow served on the same front door.

    Attributes:
        code: its RAM code (``ram``, ``sts``): the prefix of its actions in policies.
        actions: handler by Action name (blocking; run in a worker thread).
        self_authorized: actions the endpoint does not authorize before running them, because the action
            decides itself (STS AssumeRole checks ``sts:AssumeRole`` on the role it is asked for;
            GetCallerIdentity needs no permission).
    """

    code: str
    actions: Mapping[str, ProductAction]
    self_authorized: frozenset[str] = field(default_factory=frozenset)
