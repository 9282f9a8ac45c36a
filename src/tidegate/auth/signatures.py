"""Request signatures of the two protocols tidegate speaks: MNS (HMAC-SHA1) and RPC v1.0 (HMAC-SHA1).

Pure functions, no I/O. The layouts are those of ``docs/protocols.md`` (MNS: signature, RPC: signature),
verified against the captured requests of the official SDKs. ACS3-HMAC-SHA256 lives in
:mod:`tidegate.auth.acs3`.

Headers are accepted as a mapping or as a list of ``(name, value)`` pairs in any case. When a name occurs
twice the *first* value is used, as Starlette's ``Headers.get`` does, so the value we verify is the value
the handlers read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from tidegate.auth.errors import (
    InvalidAuthorizationHeader,
    InvalidDateHeader,
    MalformedRequest,
    MissingAuthorizationHeader,
)

Headers = Mapping[str, str] | Iterable[tuple[str, str]]

#: Largest skew between a request's date and the server clock (both protocols: 15 minutes).
MAX_SKEW_S = 900

# Caps on hostile input: a signature check must not be a way to make the server parse megabytes.
_MAX_PARAMS = 1000


def lower_headers(headers: Headers) -> dict[str, str]:
    """Return ``{lower-case name: value}``, keeping the first value of a repeated name."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        out.setdefault(name.lower(), value)
    return out


def _b64_hmac_sha1(key: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode("utf-8"), hashlib.sha1).digest()).decode("ascii")


# --- MNS ----------------------------------------------------------------------------------------------


def canonical_mns_headers(headers: Headers) -> str:
    """Return the CanonicalizedMNSHeaders: ``x-mns-*`` headers, lower-cased, sorted, ``name:value\\n``."""
    h = lower_headers(headers)
    return "".join(f"{k}:{h[k]}\n" for k in sorted(h) if k.startswith("x-mns-"))


def mns_string_to_sign(method: str, raw_target: str, headers: Headers) -> str:
    """Return the MNS StringToSign (docs/protocols.md).

    Args:
        method: the HTTP method as on the request line.
        raw_target: the request-target exactly as on the request line (path and raw query, not decoded):
            the SDK signs receipt handles unencoded, so decoding would break verification.
        headers: the request headers.

    Returns:
        ``VERB\\nContent-MD5\\nContent-Type\\nDate\\n`` + canonical ``x-mns-`` headers + the target.
    """
    h = lower_headers(headers)
    return (
        f"{method}\n{h.get('content-md5', '')}\n{h.get('content-type', '')}\n{h.get('date', '')}\n"
        f"{canonical_mns_headers(h)}{raw_target}"
    )


def sign_mns(secret: str, method: str, raw_target: str, headers: Headers) -> str:
    """Return the base64 HMAC-SHA1 signature of the request (without the ``MNS id:`` prefix)."""
    return _b64_hmac_sha1(secret.encode("utf-8"), mns_string_to_sign(method, raw_target, headers))


def mns_authorization(access_key_id: str, secret: str, method: str, raw_target: str, headers: Headers) -> str:
    """Return a complete ``Authorization`` header value: ``MNS <id>:<signature>``."""
    return f"MNS {access_key_id}:{sign_mns(secret, method, raw_target, headers)}"


_MNS_AUTH = re.compile(r"MNS ([!-~]{1,256}):([A-Za-z0-9+/]{1,128}={0,2})")


def parse_mns_authorization(header: str | None) -> tuple[str, str]:
    """Split an MNS ``Authorization`` header into ``(access_key_id, signature)``.

    Raises:
        MissingAuthorizationHeader: the header is absent or empty.
        InvalidAuthorizationHeader: it is not ``MNS <id>:<base64>``.
    """
    if not header:
        raise MissingAuthorizationHeader()
    # The signature is base64 and has no ':', so the regex splits at the last ':'.
    m = _MNS_AUTH.fullmatch(header.strip())
    if m is None:
        raise InvalidAuthorizationHeader(f"The Authorization header is malformed: {header[:80]!r}.")
    return m.group(1), m.group(2)


def verify_mns(method: str, raw_target: str, headers: Headers, secret: str) -> bool:
    """Check the request's MNS signature against ``secret`` in constant time.

    Raises:
        MissingAuthorizationHeader, InvalidAuthorizationHeader: see :func:`parse_mns_authorization`.
    """
    h = lower_headers(headers)
    _, signature = parse_mns_authorization(h.get("authorization"))
    mine = sign_mns(secret, method, raw_target, h)
    return hmac.compare_digest(mine.encode("ascii"), signature.encode("ascii"))


def content_md5_ok(body: bytes, header_value: str) -> bool:
    """Tell whether a Content-MD5 header matches ``body``.

    Accepts the MNS SDKs' form ``base64(hex md5)`` (44 chars; hex in either case), RFC 1864
    ``base64(binary md5)``, and a bare 32-char hex digest (the push vector's form).
    """
    digest = hashlib.md5(body).digest()
    hexd = digest.hex()
    value = header_value.strip()
    if len(value) == 32:
        return value.lower() == hexd
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return raw == digest or raw.decode("latin-1").lower() == hexd


# --- RPC (FnF) ----------------------------------------------------------------------------------------


def rpc_percent_encode(s: str) -> str:
    """RFC 3986 percent-encoding of UTF-8: keep ``A-Z a-z 0-9 - _ . ~``, upper-case hex, space → ``%20``."""
    return urllib.parse.quote(s, safe="~", encoding="utf-8")


def rpc_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    """Return the RPC v1.0 StringToSign: ``METHOD&%2F&pct(sorted k=v joined by &)`` without ``Signature``."""
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(f"{rpc_percent_encode(k)}={rpc_percent_encode(v)}" for k, v in pairs)
    # The canonical string holds only unreserved characters, ``%``, ``=`` and ``&``: encoding it again is
    # three replacements (``%`` first), equal to rpc_percent_encode(canonical) and far cheaper than quote's
    # per-byte loop over a string of several hundred characters.
    again = canonical.replace("%", "%25").replace("=", "%3D").replace("&", "%26")
    return f"{method.upper()}&%2F&{again}"


def sign_rpc(secret: str, method: str, params: Mapping[str, str]) -> str:
    """Return the RPC signature: base64 HMAC-SHA1 keyed with ``secret + "&"``."""
    return _b64_hmac_sha1(f"{secret}&".encode(), rpc_string_to_sign(method, params))


def verify_rpc(method: str, params: Mapping[str, str], secret: str) -> bool:
    """Check ``params["Signature"]`` in constant time.

    Returns False when the signature is missing or ``SignatureMethod`` names another algorithm; the caller
    checks presence first if it wants a distinct error (FnF ``MissingRequiredParams``).
    """
    given = params.get("Signature")
    if not given or params.get("SignatureMethod", "HMAC-SHA1") != "HMAC-SHA1":
        return False
    mine = sign_rpc(secret, method, params)
    return hmac.compare_digest(mine.encode("ascii"), given.encode("utf-8"))


def split_target(raw_target: str) -> tuple[str, str]:
    """Return ``(path, raw query)`` of a request-target, accepting the absolute form of proxy requests.

    ``HTTP_PROXY=http://tidegate`` makes aliyunsdkcore send ``POST http://host/?Action=…``; scheme and host
    are dropped (RPC signatures do not cover them).
    """
    if raw_target.startswith(("http://", "https://")):
        parts = urllib.parse.urlsplit(raw_target)
        return parts.path or "/", parts.query
    path, _, query = raw_target.partition("?")
    return path, query


def _parse_form(text: str, where: str) -> list[tuple[str, str]]:
    try:
        return urllib.parse.parse_qsl(
            text, keep_blank_values=True, encoding="utf-8", errors="strict", max_num_fields=_MAX_PARAMS
        )
    except (UnicodeDecodeError, ValueError) as e:
        raise MalformedRequest(f"The {where} could not be parsed: {e}") from None


def parse_rpc_request(method: str, raw_target: str, content_type: str | None, body: bytes) -> dict[str, str]:
    """Merge the query and form-body parameters of an RPC request.

    Both are decoded with form semantics (``unquote_plus``): the Tea SDK encodes spaces as ``+`` in the
    query, and both SDKs encode a literal ``+`` as ``%2B``. The body is read only when it is
    ``application/x-www-form-urlencoded``.

    Raises:
        MalformedRequest: undecodable UTF-8, too many fields, or a name given twice (the signature would
            be ambiguous).
    """
    _, query = split_target(raw_target)
    pairs = _parse_form(query, "query string")
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if body and method.upper() != "GET" and ctype == "application/x-www-form-urlencoded":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedRequest("The form body is not UTF-8.") from None
        pairs += _parse_form(text, "form body")
    out: dict[str, str] = {}
    for k, v in pairs:
        if k in out:
            raise MalformedRequest(f"The parameter {k!r} is given more than once.")
        out[k] = v
    return out


# --- dates --------------------------------------------------------------------------------------------

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_RFC1123 = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT"
)
_RPC_TS = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z")


def parse_http_date(value: str) -> float:
    """Parse an RFC 1123 date in GMT (``Sun, 22 Nov 2026 19:14:38 GMT``) to epoch seconds.

    Only this form is accepted (no RFC 850 / asctime, no other zone), as the MNS SDKs send it.

    Raises:
        InvalidDateHeader: any other form, or an impossible date.
    """
    m = _RFC1123.fullmatch(value.strip())
    if m is None:
        raise InvalidDateHeader(f"The date {value[:64]!r} is not an RFC 1123 GMT date.")
    try:
        dt = datetime(
            int(m.group(4)),
            _MONTHS.index(m.group(3)) + 1,
            int(m.group(2)),
            int(m.group(5)),
            int(m.group(6)),
            int(m.group(7)),
            tzinfo=UTC,
        )
    except ValueError:
        raise InvalidDateHeader(f"The date {value[:64]!r} does not exist.") from None
    return dt.timestamp()


def format_http_date(epoch_s: float) -> str:
    """Format epoch seconds as an RFC 1123 GMT date (locale-independent)."""
    dt = datetime.fromtimestamp(epoch_s, tz=UTC)
    return (
        f"{_DAYS[dt.weekday()]}, {dt.day:02d} {_MONTHS[dt.month - 1]} {dt.year:04d} "
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d} GMT"
    )


def mns_date_skew_ok(date_header: str, now: float, max_skew: float = MAX_SKEW_S) -> bool:
    """Tell whether an MNS ``Date`` (or ``x-mns-date``) is within ``max_skew`` seconds of ``now``.

    Raises:
        InvalidDateHeader: the value is not an RFC 1123 GMT date (MNS ``InvalidDateHeader`` 400, whereas a
            skew is ``TimeExpired`` 408).
    """
    return abs(parse_http_date(date_header) - now) <= max_skew


def parse_rpc_timestamp(ts: str) -> float:
    """Parse an RPC ``Timestamp`` (``YYYY-MM-DDThh:mm:ssZ``, UTC; optional fraction) to epoch seconds.

    Raises:
        InvalidDateHeader: any other form.
    """
    m = _RPC_TS.fullmatch(ts.strip())
    if m is None:
        raise InvalidDateHeader(f"The timestamp {ts[:64]!r} is not YYYY-MM-DDThh:mm:ssZ.")
    try:
        y, mo, d, hh, mi, ss = (int(g) for g in m.groups()[:6])
        dt = datetime(y, mo, d, hh, mi, ss, tzinfo=UTC)
    except ValueError:
        raise InvalidDateHeader(f"The timestamp {ts[:64]!r} does not exist.") from None
    frac = m.group(7)
    return dt.timestamp() + (int(frac) / 10 ** len(frac) if frac else 0.0)


def rpc_timestamp_ok(ts: str, now: float, max_skew: float = MAX_SKEW_S) -> bool:
    """Tell whether an RPC ``Timestamp`` is within ``max_skew`` seconds of ``now`` (FnF: 15 minutes).

    Raises:
        InvalidDateHeader: malformed timestamp.
    """
    return abs(parse_rpc_timestamp(ts) - now) <= max_skew
