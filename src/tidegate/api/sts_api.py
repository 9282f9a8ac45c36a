"""STS (API version ``2015-04-01``) on the RPC front door: AssumeRole and GetCallerIdentity.

Both actions authorize themselves: AssumeRole checks ``sts:AssumeRole`` on the role's ARN inside
:class:`tidegate.ram.sts.StsService`, and GetCallerIdentity needs no permission (as in STS). Errors are
STS's own codes, mapped to statuses in :mod:`tidegate.api.rpc_errors`.
"""

from __future__ import annotations

import re
from typing import Any

from tidegate.api.rpc_product import RpcCall, RpcProduct
from tidegate.ram.sts import DEFAULT_DURATION_S, StsService
from tidegate.ram.sts_errors import InvalidDurationSeconds, UnsupportedParameter

__all__ = ["STS_PRODUCT", "STS_VERSION"]

STS_VERSION = "2015-04-01"

_DIGITS = re.compile(r"[0-9]{1,9}")


def _duration(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_DURATION_S
    if not _DIGITS.fullmatch(value):
        raise InvalidDurationSeconds(f"The parameter DurationSeconds must be a number of seconds, not {value[:40]!r}.")
    return int(value)


def assume_role(call: RpcCall) -> dict[str, Any]:
    """``AssumeRole``: RoleArn, RoleSessionName, optional Policy, DurationSeconds and ExternalId.

    SourceIdentity is refused: nothing here records or checks it.
    """
    p = call.params
    if p.opt("SourceIdentity"):
        raise UnsupportedParameter("SourceIdentity")
    assumed = StsService(call.ctx.authorizer).assume_role(
        call.principal,
        p.text("RoleArn"),
        p.text("RoleSessionName"),
        _duration(p.opt("DurationSeconds")),
        p.opt("Policy"),
        call.context,
        external_id=p.opt("ExternalId") or None,
    )
    return assumed.to_response()


def get_caller_identity(call: RpcCall) -> dict[str, Any]:
    """``GetCallerIdentity``: who signed the request."""
    return StsService(call.ctx.authorizer).get_caller_identity(call.principal).to_response()


STS_PRODUCT = RpcProduct(
    "sts",
    {"AssumeRole": assume_role, "GetCallerIdentity": get_caller_identity},
    self_authorized=frozenset({"AssumeRole", "GetCallerIdentity"}),
)
