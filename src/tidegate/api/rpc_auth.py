"""Authenticating an RPC request (docs/protocols.md, RPC: signature): timestamp, key, signature, then nonce."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping

from tidegate.api.rpc_errors import (
    MissingRequiredParams,
    RequestTimeTooSkewed,
    SignatureNonceUsed,
    SignatureNotMatch,
)
from tidegate.auth.acs3 import parse_acs3_authorization, verify_acs3
from tidegate.auth.keys import AccessKey, KeyRing
from tidegate.auth.signatures import MAX_SKEW_S, lower_headers, rpc_timestamp_ok, verify_rpc

__all__ = ["ACS3_PREFIX", "NonceCache", "authenticate_acs3", "authenticate_rpc"]

ACS3_PREFIX = "ACS3-HMAC-SHA256"

_REQUIRED = ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp")
MAX_NONCE_LEN = 128


class NonceCache:
    """Remembers ``(access key id, nonce)`` pairs for ``ttl_s`` seconds (thread-safe).

    In memory and per process: requests outside the timestamp window are rejected anyway, so a pair only
    needs to be remembered for that window. Several servers sharing one PostgreSQL store do not share it
    (a replay to another server within 15 minutes would pass) — acceptable for a self-hosted emulator.

    Args:
        ttl_s: how long a nonce stays used.
        max_entries: a hard cap; the oldest entries go first when it is reached.
    """

    def __init__(self, ttl_s: float = MAX_SKEW_S, max_entries: int = 1_000_000) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._seen: set[tuple[str, str]] = set()
        self._order: deque[tuple[float, tuple[str, str]]] = deque()
        self._lock = threading.Lock()

    def use(self, access_key_id: str, nonce: str, now: float | None = None) -> bool:
        """Record the pair; False when it was already used within the window."""
        t = time.monotonic() if now is None else now
        key = (access_key_id, nonce)
        with self._lock:
            while self._order and (self._order[0][0] <= t or len(self._order) >= self._max):
                self._seen.discard(self._order.popleft()[1])
            if key in self._seen:
                return False
            self._seen.add(key)
            self._order.append((t + self._ttl, key))
            return True


def authenticate_rpc(
    method: str, params: Mapping[str, str], keyring: KeyRing, nonces: NonceCache, now_s: float
) -> AccessKey:
    """Verify an RPC v1 request and return the key that signed it.

    Order: required parameters, timestamp window, key lookup, signature, and only then the nonce (so
    unsigned junk cannot fill the nonce cache).

    Raises:
        MissingRequiredParams, RequestTimeTooSkewed, SignatureNotMatch, SignatureNonceUsed,
        InvalidAccessKeyId, InvalidSecurityToken, InvalidDateHeader.
    """
    for name in _REQUIRED:
        if not params.get(name):
            raise MissingRequiredParams(name)
    _check_time(params["Timestamp"], now_s)
    key = keyring.resolve(params["AccessKeyId"], params.get("SecurityToken") or None, now_s)
    if not verify_rpc(method, params, key.secret):
        raise SignatureNotMatch()
    _use_nonce(nonces, key, params["SignatureNonce"])
    return key


def authenticate_acs3(
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    keyring: KeyRing,
    nonces: NonceCache,
    now_s: float,
) -> AccessKey:
    """Verify an ACS3-HMAC-SHA256 (signature V3) request, which the Tea runtime sends when forced to.

    The date, nonce and security token travel in ``x-acs-date``, ``x-acs-signature-nonce`` and
    ``x-acs-security-token``; the checks and their order are those of :func:`authenticate_rpc`.

    Raises:
        MissingRequiredParams (a missing header), RequestTimeTooSkewed, SignatureNotMatch,
        SignatureNonceUsed, InvalidAccessKeyId, InvalidSecurityToken, InvalidAuthorizationHeader.
    """
    h = lower_headers(headers)
    key_id, _, _ = parse_acs3_authorization(h.get("authorization"))
    for name in ("x-acs-date", "x-acs-signature-nonce"):
        if not h.get(name):
            raise MissingRequiredParams(name)
    _check_time(h["x-acs-date"], now_s)
    key = keyring.resolve(key_id, h.get("x-acs-security-token") or None, now_s)
    if not verify_acs3(method, path, raw_query, h, body, key.secret):
        raise SignatureNotMatch()
    _use_nonce(nonces, key, h["x-acs-signature-nonce"])
    return key


def _check_time(ts: str, now_s: float) -> None:
    if not rpc_timestamp_ok(ts, now_s):
        now_text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s))
        raise RequestTimeTooSkewed(
            f"The difference between the request time {ts[:40]} and the current time {now_text} is too large."
        )


def _use_nonce(nonces: NonceCache, key: AccessKey, nonce: str) -> None:
    if len(nonce) > MAX_NONCE_LEN or not nonces.use(key.id, nonce):
        raise SignatureNonceUsed(f"The SignatureNonce {nonce[:64]} has been used within 15 minutes.")
