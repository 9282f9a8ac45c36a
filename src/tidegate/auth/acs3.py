"""ACS3-HMAC-SHA256 (Alibaba Cloud signature V3) verification (docs/protocols.md, RPC: signature).

The FnF clients do not use it (they pin RPC v1), but the Tea runtime can be forced to, so the server
accepts it for completeness. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Iterable, Mapping

from tidegate.auth.errors import InvalidAuthorizationHeader, MissingAuthorizationHeader
from tidegate.auth.signatures import Headers, lower_headers, rpc_percent_encode

ALGORITHM = "ACS3-HMAC-SHA256"

_AUTH = re.compile(
    r"ACS3-HMAC-SHA256 Credential=([^,\s]{1,256}),"
    r"SignedHeaders=([a-z0-9;_.-]{0,2048}),Signature=([0-9a-f]{64})"
)

Query = str | Mapping[str, str] | Iterable[tuple[str, str]]


def parse_acs3_authorization(header: str | None) -> tuple[str, list[str], str]:
    """Split an ACS3 Authorization header into ``(access_key_id, signed_header_names, hex_signature)``.

    Raises:
        MissingAuthorizationHeader: absent.
        InvalidAuthorizationHeader: malformed.
    """
    if not header:
        raise MissingAuthorizationHeader()
    m = _AUTH.fullmatch(header.strip())
    if m is None:
        raise InvalidAuthorizationHeader(f"The Authorization header is malformed: {header[:80]!r}.")
    return m.group(1), [h for h in m.group(2).split(";") if h], m.group(3)


def _query_pairs(query: Query) -> list[tuple[str, str]]:
    if isinstance(query, str):
        return urllib.parse.parse_qsl(query, keep_blank_values=True)
    if isinstance(query, Mapping):
        return list(query.items())
    return list(query)


def canonical_query(query: Query) -> str:
    """Return the sorted ``pct(k)=pct(v)`` query joined by ``&`` (empty when there is none)."""
    pairs = sorted((rpc_percent_encode(k), rpc_percent_encode(v)) for k, v in _query_pairs(query))
    return "&".join(f"{k}={v}" for k, v in pairs)


def acs3_string_to_sign(method: str, path: str, query: Query, headers: Headers, signed: list[str], body: bytes) -> str:
    """Return the ACS3 StringToSign for the given signed header names."""
    h = lower_headers(headers)
    canon_headers = "".join(f"{name}:{h.get(name, '').strip()}\n" for name in signed)
    payload_hash = h.get("x-acs-content-sha256") or hashlib.sha256(body).hexdigest()
    canonical_request = "\n".join(
        (method.upper(), path or "/", canonical_query(query), canon_headers, ";".join(signed), payload_hash)
    )
    return f"{ALGORITHM}\n{hashlib.sha256(canonical_request.encode('utf-8')).hexdigest()}"


def verify_acs3(method: str, path: str, query: Query, headers: Headers, body: bytes, secret: str) -> bool:
    """Check an ACS3-HMAC-SHA256 signed request.

    Beyond the signature itself, requires that ``host``, ``x-acs-date`` and ``x-acs-content-sha256`` are
    among the signed headers and that the latter is the SHA-256 of ``body`` (otherwise the body would be
    unsigned).

    Args:
        method: HTTP method.
        path: the request path (not decoded further).
        query: the raw query string, or already decoded pairs.
        headers: request headers.
        body: the raw body.
        secret: the AccessKey secret.

    Raises:
        MissingAuthorizationHeader, InvalidAuthorizationHeader: see :func:`parse_acs3_authorization`.
    """
    h = lower_headers(headers)
    _, signed, signature = parse_acs3_authorization(h.get("authorization"))
    if signed != sorted(signed) or not {"host", "x-acs-date", "x-acs-content-sha256"} <= set(signed):
        return False
    if not hmac.compare_digest(h.get("x-acs-content-sha256", ""), hashlib.sha256(body).hexdigest()):
        return False
    sts = acs3_string_to_sign(method, path, query, h, signed, body)
    mine = hmac.new(secret.encode("utf-8"), sts.encode("utf-8"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(mine, signature)
