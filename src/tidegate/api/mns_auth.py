"""MNS request authentication (docs/protocols.md, MNS: signature) and the request model the MNS handlers read.

The signature covers the request-target exactly as sent (receipt handles travel unencoded), so the raw
path and query from the ASGI scope are verified, and the query is split without form decoding
(``+`` stays ``+``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

from tidegate.auth.keys import AccessKey, KeyRing
from tidegate.auth.signatures import content_md5_ok, mns_date_skew_ok, parse_mns_authorization, verify_mns
from tidegate.errors import AuthError
from tidegate.mq.errors import InvalidQueueArgument


class MissingDateHeader(AuthError):
    """The request has no Date header."""

    code = "MissingDateHeader"


class TimeExpired(AuthError):
    """The http request you sent is expired."""

    code = "TimeExpired"


class SignatureDoesNotMatch(AuthError):
    """The request signature we calculated does not match the signature you provided."""

    code = "SignatureDoesNotMatch"


class InvalidDegist(AuthError):  # sic: the service's own spelling
    """The Content-MD5 you specified is not valid."""

    code = "InvalidDegist"


@dataclass(frozen=True, slots=True, kw_only=True)
class MnsRequest:
    """One authenticated MNS request as the handlers see it.

    Attributes:
        method: the HTTP method.
        raw_target: path and raw query as on the request line.
        query: query parameters, names lower-cased, values percent-decoded without ``+`` → space.
        headers: request headers, names lower-cased (first value wins).
        body: the raw body.
        base_url: ``scheme://host`` the client used (for ``Location`` and ``*URL`` elements).
    """

    method: str
    raw_target: str
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    base_url: str = ""

    def q(self, name: str) -> str | None:
        """Return a query parameter (name case-insensitive), None when absent."""
        return self.query.get(name.lower())

    def int_param(self, name: str, value: str | None) -> int | None:
        """Parse an integer parameter or header value.

        Raises:
            InvalidQueueArgument: not an integer.
        """
        if value is None or value == "":
            return None
        text = value.strip()
        if not (text.lstrip("-").isdigit() and len(text) <= 12):
            raise InvalidQueueArgument(f"The value of {name} must be an integer.")
        return int(text)


def parse_raw_query(raw: str) -> dict[str, str]:
    """Split a raw query into ``{lower name: value}``; ``%XX`` is decoded, ``+`` is kept (first wins)."""
    out: dict[str, str] = {}
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out.setdefault(unquote(name).lower(), unquote(value))
    return out


def authenticate(
    method: str, raw_target: str, headers: Mapping[str, str], body: bytes, keyring: KeyRing, now: float
) -> AccessKey:
    """Check an MNS request's Authorization, Date and Content-MD5; return the AccessKey it is signed with.

    Args:
        method: the HTTP method.
        raw_target: the request-target as sent.
        headers: lower-cased request headers.
        body: the request body.
        keyring: the server's keys.
        now: current time, epoch seconds.

    Raises:
        MissingAuthorizationHeader, InvalidAuthorizationHeader: absent or malformed Authorization.
        MissingDateHeader, InvalidDateHeader, TimeExpired: no date, a malformed one, or 15 min of skew.
        InvalidAccessKeyId: unknown key (or an invalid security token).
        SignatureDoesNotMatch: wrong signature.
        InvalidDegist: a Content-MD5 that does not match the body.
    """
    access_key_id, _ = parse_mns_authorization(headers.get("authorization"))
    date = headers.get("x-mns-date") or headers.get("date")
    if not date:
        raise MissingDateHeader()
    if not mns_date_skew_ok(date, now):
        raise TimeExpired(f"The http request you sent is expired: {date}.")
    key = keyring.resolve(access_key_id, headers.get("security-token"), now)
    if not verify_mns(method, raw_target, headers, key.secret):
        raise SignatureDoesNotMatch()
    md5 = headers.get("content-md5")
    if md5 and not content_md5_ok(body, md5):
        raise InvalidDegist()
    return key
