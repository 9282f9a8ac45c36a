"""What each request of each protocol asks the authorizer: its RAM action and resource (docs/auth.md).

INTERFACE STUB being filled in: the catalog of every protocol's actions and resource ARNs, and the
request context (``acs:SourceIp``, ``acs:SecureTransport``, ``acs:CurrentTime``…) of a request.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import Scope

from tidegate.api.rpc_params import Params
from tidegate.ram import Principal
from tidegate.ram.authorizer import Authorizer

__all__ = ["authorize_rpc", "request_context"]


def request_context(scope: Scope, now_ms: int) -> Mapping[str, tuple[str, ...]]:
    """The condition keys of one HTTP request."""
    return {}


def authorize_rpc(
    authorizer: Authorizer,
    principal: Principal,
    product: str,
    action: str,
    params: Params,
    context: Mapping[str, tuple[str, ...]],
) -> None:
    """Check one RPC call (``product`` is the RAM code: ``fnf``, ``ram``, ``sts``); raise AccessDenied."""
    authorizer.check(principal, f"{product}:{action}", "*", context)
