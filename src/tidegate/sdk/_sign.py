"""Request signatures of MNS (HMAC-SHA1) and the RPC API v1.0 (HMAC-SHA1), as the official SDKs compute them.

The algorithms are those of the two Alibaba Cloud protocols (MNS: ``VERB\\nContent-MD5\\nContent-Type\\nDate\\n``
+ sorted ``x-mns-*`` headers + the raw request target; RPC: ``METHOD&%2F&pct(sorted k=v)`` keyed with
``secret&``). This is a copy of the algorithm, not of the server's verifier: the SDK imports nothing of tidegate.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
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


def rpc_timestamp(now: float | None = None) -> str:
    """The RPC ``Timestamp``: ``YYYY-MM-DDThh:mm:ssZ`` in UTC."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() if now is None else now))


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


def percent(s: str) -> str:
    """RFC 3986 percent-encoding of UTF-8 (``A-Z a-z 0-9 - _ . ~`` kept), as RPC signatures need."""
    return urllib.parse.quote(s, safe="~")


def rpc_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    """The RPC v1.0 signature of every parameter (query and form body) but ``Signature``."""
    canonical = "&".join(f"{percent(k)}={percent(v)}" for k, v in sorted(params.items()) if k != "Signature")
    # percent(canonical): the canonical string holds only unreserved characters, '%', '=' and '&'.
    again = canonical.replace("%", "%25").replace("=", "%3D").replace("&", "%26")
    return _b64_hmac_sha1(f"{secret}&".encode(), f"{method.upper()}&%2F&{again}")


def form(params: Mapping[str, str]) -> str:
    """``k=v&…`` with every key and value percent-encoded (query strings and form bodies)."""
    return "&".join(f"{percent(k)}={percent(v)}" for k, v in params.items())
