"""The RAM API's plumbing: the table of actions with the parameters each accepts, and typed parameters.

Every action declares the parameters it implements; a request carrying any other parameter (a tag, a
resource group, a console-login flag…) is refused with ``InvalidParameter`` naming it, never ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from tidegate.api.ram_render import wrapped
from tidegate.api.rpc_product import ProductAction, RpcCall
from tidegate.ram.errors import InvalidParameter, invalid_parameter
from tidegate.ram.service import RamService

__all__ = ["ACTIONS", "COMMON", "action", "marker", "max_items", "paged", "service"]

#: Parameters of the RPC protocol itself (signature, version, format…), which every request may carry.
COMMON = frozenset(
    {
        "Action",
        "Version",
        "Format",
        "AccessKeyId",
        "Signature",
        "SignatureMethod",
        "SignatureVersion",
        "SignatureNonce",
        "SignatureType",
        "Timestamp",
        "SecurityToken",
        "RegionId",
        "RequestId",
    }
)

#: The RAM actions, by name.
ACTIONS: dict[str, ProductAction] = {}

_INT = re.compile(r"[0-9]{1,9}")
_TAG = re.compile(r"Tag\.\d+\.(Key|Value)")
#: What the Tea SDK sends as ``Tag`` (tags as one JSON text) when the request has none.
_NO_TAGS = frozenset({"", "[]"})
_NOT_HERE = {
    "ResourceGroupId": "resource groups do not exist on this server",
    "AllowConsoleLogin": "this server has no console login for roles",
    "NewAllowConsoleLogin": "this server has no console login for roles",
}


def _refuse(name: str) -> InvalidParameter:
    if _TAG.fullmatch(name) or name in ("Tag", "Key", "Value"):
        why = "tags are not supported on this server"
    else:
        why = _NOT_HERE.get(name, "this action does not take it")
    return InvalidParameter(f'The parameter - "{name[:64]}" is not supported: {why}.')


def action(name: str, *params: str) -> Callable[[Callable[[RpcCall], dict[str, Any]]], ProductAction]:
    """Register the handler of RAM action ``name``, which implements ``params`` (and nothing else)."""
    allowed = COMMON | frozenset(params)

    def register(handler: Callable[[RpcCall], dict[str, Any]]) -> ProductAction:
        def run(call: RpcCall) -> dict[str, Any]:
            for key, value in call.params.values.items():
                if key not in allowed and not (key == "Tag" and value in _NO_TAGS):
                    raise _refuse(key)
            return handler(call)

        run.__name__ = run.__qualname__ = name
        run.__doc__ = handler.__doc__
        ACTIONS[name] = run
        return run

    return register


def service(call: RpcCall) -> RamService:
    """The server's RAM service."""
    return call.ctx.ram


def max_items(call: RpcCall) -> int | None:
    """``MaxItems`` (None: absent; the service checks the range, 1 to 1000, and defaults it to 100)."""
    value = call.params.opt("MaxItems")
    if not value:
        return None
    if not _INT.fullmatch(value):
        raise invalid_parameter("MaxItems", "Format", 'The parameter - "MaxItems" must be an integer.')
    return int(value)


def marker(call: RpcCall) -> str:
    """``Marker``: where the previous page ended ("": from the start)."""
    return call.params.text("Marker")


def paged(outer: str, inner: str, rows: Iterable[dict[str, Any]], next_marker: str | None) -> dict[str, Any]:
    """A page of a listing: the rows wrapped as RAM does, ``IsTruncated`` and the next ``Marker``."""
    doc = wrapped(outer, inner, rows)
    doc["IsTruncated"] = next_marker is not None
    if next_marker is not None:
        doc["Marker"] = next_marker
    return doc
