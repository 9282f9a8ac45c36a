"""Function Compute's request signature (API 2016-08-15), as HTTP triggers with ``authType: function`` check it.

``Authorization: FC <AccessKeyId>:<Signature>`` where the signature is
``base64(HMAC-SHA256(secret, StringToSign))`` and::

    StringToSign = METHOD "\\n" Content-MD5 "\\n" Content-Type "\\n" Date "\\n"
                   CanonicalizedFCHeaders CanonicalizedResource
    CanonicalizedFCHeaders = every x-fc-* header, name lower-cased, sorted: "name:value\\n" each
    CanonicalizedResource  = the unescaped path; with a query: path "\\n" the sorted "key=value" lines
                             ("key" alone for a parameter without "=")

Temporary credentials send their token in ``x-fc-security-token`` (signed, as an ``x-fc-`` header). The
``Date`` must be within 15 minutes of the server's clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Iterable

from tidegate.auth.errors import InvalidAuthorizationHeader, MissingAuthorizationHeader

__all__ = [
    "SECURITY_TOKEN_HEADER",
    "fc_authorization",
    "fc_canonical_resource",
    "fc_string_to_sign",
    "parse_fc_authorization",
    "sign_fc",
    "signature_matches",
]

#: The header temporary credentials carry their security token in.
SECURITY_TOKEN_HEADER = "x-fc-security-token"
_FC_AUTH = re.compile(r"FC ([!-9;-~]{1,128}):([A-Za-z0-9+/]{1,128}={0,2})")


def _query_lines(raw_query: str) -> list[str]:
    lines = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key = urllib.parse.unquote_plus(key)
        lines.append(f"{key}={urllib.parse.unquote_plus(value)}" if eq else key)
    return sorted(lines)


def fc_canonical_resource(raw_path: str, raw_query: str = "") -> str:
    """The CanonicalizedResource of a request: its unescaped path, then its sorted query lines."""
    path = urllib.parse.unquote(raw_path)
    lines = _query_lines(raw_query)
    return path + "\n" + "\n".join(lines) if lines else path


def fc_string_to_sign(method: str, raw_path: str, raw_query: str, headers: Iterable[tuple[str, str]]) -> str:
    """The StringToSign of a request (``headers`` as name/value pairs; repeated names joined by ``,``)."""
    h: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        h[key] = f"{h[key]},{value}" if key in h else value
    fc = sorted((k, v) for k, v in h.items() if k.startswith("x-fc-"))
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in fc)
    return "\n".join(
        [
            method.upper(),
            h.get("content-md5", ""),
            h.get("content-type", ""),
            h.get("date", ""),
            canonical_headers + fc_canonical_resource(raw_path, raw_query),
        ]
    )


def sign_fc(secret: str, string_to_sign: str) -> str:
    """The signature of a StringToSign."""
    mac = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def fc_authorization(access_key_id: str, secret: str, string_to_sign: str) -> str:
    """The ``Authorization`` header value of a request."""
    return f"FC {access_key_id}:{sign_fc(secret, string_to_sign)}"


def parse_fc_authorization(header: str | None) -> tuple[str, str]:
    """The AccessKey ID and signature of an ``Authorization: FC id:signature`` header.

    Raises:
        MissingAuthorizationHeader: no header.
        InvalidAuthorizationHeader: not of that form.
    """
    if not header:
        raise MissingAuthorizationHeader("required HTTP header Authorization was not specified")
    m = _FC_AUTH.fullmatch(header.strip())
    if m is None:
        raise InvalidAuthorizationHeader("The Authorization header must be 'FC <AccessKeyId>:<Signature>'.")
    return m.group(1), m.group(2)


def signature_matches(signature: str, secret: str, string_to_sign: str) -> bool:
    """Whether ``signature`` is the one ``secret`` gives (constant time)."""
    return hmac.compare_digest(sign_fc(secret, string_to_sign).encode("ascii"), signature.encode("ascii"))
