"""Request signatures of MNS (HMAC-SHA1) and the RPC API v1.0 (HMAC-SHA1), as the official SDKs compute them.

The algorithms are those of the two Alibaba Cloud protocols (MNS: ``VERB\\nContent-MD5\\nContent-Type\\nDate\\n``
+ sorted ``x-mns-*`` headers + the raw request target; RPC: ``METHOD&%2F&pct(sorted k=v)`` keyed with
``secret&``). This is a copy of the algorithm, not of the server's verifier: the SDK imports nothing of tidegate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from email.utils import formatdate

_date_cache: tuple[int, str] = (0, "")


def http_date(now: float | None = None) -> str:
    """The RFC 1123 GMT date of ``now`` (default: the current second, cached: one format per second)."""
    global _date_cache
    t = int(time.time() if now is None else now)
    if _date_cache[0] != t:
        _date_cache = (t, formatdate(t, usegmt=True))
    return _date_cache[1]


_stamp_cache: tuple[int, str] = (0, "")


def rpc_timestamp(now: float | None = None) -> str:
    """The RPC ``Timestamp``: ``YYYY-MM-DDThh:mm:ssZ`` in UTC (the current second's is formatted once)."""
    global _stamp_cache
    t = int(time.time() if now is None else now)
    if _stamp_cache[0] != t:
        _stamp_cache = (t, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)))
    return _stamp_cache[1]


def _b64_hmac_sha1(key: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha1).digest()).decode("ascii")


def content_md5(body: bytes) -> str:
    """``Content-MD5`` as the MNS SDKs send it: base64 of the *hex* digest."""
    return base64.b64encode(hashlib.md5(body).hexdigest().encode("ascii")).decode("ascii")


def mns_signature(secret: str, method: str, target: str, headers: Mapping[str, str]) -> str:
    """The MNS signature of a request whose header names are lower case.

    Args:
        secret: the AccessKey secret.
        method: the HTTP method.
        target: the request target exactly as sent (path ``?`` raw query).
        headers: the request's headers, names in lower case.
    """
    mns = "".join(f"{k}:{headers[k]}\n" for k in sorted(headers) if k.startswith("x-mns-"))
    text = (
        f"{method}\n{headers.get('content-md5', '')}\n{headers.get('content-type', '')}\n"
        f"{headers.get('date', '')}\n{mns}{target}"
    )
    return _b64_hmac_sha1(secret.encode("utf-8"), text)


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")
#: Each byte as RFC 3986 wants it in a percent-encoded string (a byte per code point after a Latin-1 decode).
_PCT = {b: chr(b) if _UNRESERVED.fullmatch(chr(b)) else f"%{b:02X}" for b in range(256)}


def percent(s: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 (``A-Z a-z 0-9 - _ . ~`` kept), as RPC signatures need."""
    if _UNRESERVED.fullmatch(s):
        return s
    return s.encode("utf-8").decode("latin-1").translate(_PCT)


def rpc_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """The RPC v1.0 signature of every parameter (query and form body) but ``Signature``."""
    return _rpc_sign(secret, method, {k: f"{percent(k)}={percent(v)}" for k, v in params.items()})


def _rpc_sign(secret: str, method: str, pairs: Mapping[str, str]) -> str:
    """The signature of parameters already encoded (``k=v`` by raw key), sorted by their raw names."""
    canonical = "&".join(pairs[k] for k in sorted(pairs) if k != "Signature")
    # percent(canonical): the canonical string holds only unreserved characters, '%', '=' and '&'.
    again = canonical.replace("%", "%25").replace("=", "%3D").replace("&", "%26")
    return _b64_hmac_sha1(f"{secret}&".encode(), f"{method.upper()}&%2F&{again}")


def rpc_signed(secret: str, method: str, query: Mapping[str, str], body: Mapping[str, str]) -> tuple[str, str]:
    """The query string (with its ``Signature``) and the form body of a signed RPC request.

    The signature covers the query's and the body's parameters (a body's value wins for a name in both);
    each name and value is encoded once.
    """
    q = {k: f"{percent(k)}={percent(v)}" for k, v in query.items()}
    b = {k: f"{percent(k)}={percent(v)}" for k, v in body.items()}
    signature = _rpc_sign(secret, method, {**q, **b} if b else q)
    return f"{'&'.join(q.values())}&Signature={percent(signature)}", "&".join(b.values())


def form(params: Mapping[str, str]) -> str:
    """``k=v&…`` with every key and value percent-encoded (query strings and form bodies)."""
    return "&".join(f"{percent(k)}={percent(v)}" for k, v in params.items())
