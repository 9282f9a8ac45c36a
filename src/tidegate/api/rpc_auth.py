"""Authenticating an RPC request (docs/protocols.md, RPC: signature): timestamp, key, signature, then nonce."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

from tidegate.api.rpc_errors import (
    MissingRequiredParams,
    RequestTimeTooSkewed,
    SignatureNonceUsed,
    SignatureNotMatch,
)
from tidegate.auth.acs3 import parse_acs3_authorization, verify_acs3
from tidegate.auth.keys import AccessKey, KeyRing
from tidegate.auth.signatures import MAX_SKEW_S, lower_headers, parse_rpc_timestamp, verify_rpc
from tidegate.store import Store

__all__ = ["ACS3_PREFIX", "Authenticated", "NonceCache", "UsedNonce", "authenticate_acs3", "authenticate_rpc"]

ACS3_PREFIX = "ACS3-HMAC-SHA256"

_REQUIRED = ("AccessKeyId", "Signature", "SignatureNonce", "Timestamp")
MAX_NONCE_LEN = 128


class NonceCache:
    """Remembers ``(access key id, nonce)`` pairs for their timestamp window: a used nonce is refused.

    Two steps. :meth:`use` checks this process's memory (thread-safe, no I/O): a replay to the server that
    saw the request is refused before anything else. :meth:`claim` then records the nonce in the store
    (``store.use_nonce``, one statement) where every server sharing the store sees it, so a replay to
    another server is refused too. The request's handler calls :meth:`claim` where it may block on the
    store (with the action, in its thread), after the signature was verified; without a store (tests of the
    protocol alone) it does nothing. Expired nonces are removed from the store by the runtime's node loop.

    Args:
        ttl_s: how long a nonce stays used in memory (the store keeps it until the request's timestamp
            has left the window).
        max_entries: a hard cap of the memory; the oldest entries go first when it is reached (the store
            still refuses them).
        store: the store every server shares, or None.
    """

    def __init__(self, ttl_s: float = MAX_SKEW_S, max_entries: int = 1_000_000, store: Store | None = None) -> None:
        self._ttl = ttl_s
        self._max = max_entries
        self._store = store
        self._seen: set[tuple[str, str]] = set()
        self._order: deque[tuple[float, tuple[str, str]]] = deque()
        self._lock = threading.Lock()

    def use(self, access_key_id: str, nonce: str, now: float | None = None) -> bool:
        """Record the pair in memory; False when it was already used within the window."""
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

    def claim(self, used: UsedNonce) -> None:
        """Record the nonce in the store, shared by every server (may block on it).

        Raises:
            SignatureNonceUsed: another server (or this one, beyond the memory's cap) saw it.
            StoreError: the store failed.
        """
        if self._store is not None and not self._store.use_nonce(used.key_id, used.nonce, used.expires_ms):
            raise _nonce_used(used.nonce)


@dataclass(frozen=True, slots=True)
class UsedNonce:
    """A request's nonce after the memory check: what :meth:`NonceCache.claim` records in the store."""

    key_id: str
    nonce: str
    #: When the request's timestamp leaves the window: until then the nonce must stay used.
    expires_ms: int


@dataclass(frozen=True, slots=True)
class Authenticated:
    """An authenticated request: the key that signed it, and its nonce (claimed in the store with the action)."""

    key: AccessKey
    nonce: UsedNonce


def authenticate_rpc(
    method: str, params: Mapping[str, str], keyring: KeyRing, nonces: NonceCache, now_s: float
) -> Authenticated:
    """Verify an RPC v1 request and return the key that signed it and its nonce.

    Order: required parameters, timestamp window, key lookup, signature, and only then the nonce (so
    unsigned junk cannot fill the nonce cache). The nonce is checked in this process's memory here; the
    caller claims it in the store (:meth:`NonceCache.claim`) before running the action.

    Raises:
        MissingRequiredParams, RequestTimeTooSkewed, SignatureNotMatch, SignatureNonceUsed,
        InvalidAccessKeyId, InvalidSecurityToken, InvalidDateHeader.
    """
    for name in _REQUIRED:
        if not params.get(name):
            raise MissingRequiredParams(name)
    stamped_s = _check_time(params["Timestamp"], now_s)
    key = keyring.resolve(params["AccessKeyId"], params.get("SecurityToken") or None, now_s)
    if not verify_rpc(method, params, key.secret):
        raise SignatureNotMatch()
    return Authenticated(key, _use_nonce(nonces, key, params["SignatureNonce"], stamped_s, now_s))


def authenticate_acs3(
    method: str,
    path: str,
    raw_query: str,
    headers: Mapping[str, str],
    body: bytes,
    keyring: KeyRing,
    nonces: NonceCache,
    now_s: float,
) -> Authenticated:
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
    stamped_s = _check_time(h["x-acs-date"], now_s)
    key = keyring.resolve(key_id, h.get("x-acs-security-token") or None, now_s)
    if not verify_acs3(method, path, raw_query, h, body, key.secret):
        raise SignatureNotMatch()
    return Authenticated(key, _use_nonce(nonces, key, h["x-acs-signature-nonce"], stamped_s, now_s))


def _check_time(ts: str, now_s: float) -> float:
    """The request's time (epoch seconds), when it is within the window of ``now_s``."""
    stamped = parse_rpc_timestamp(ts)
    if abs(stamped - now_s) > MAX_SKEW_S:
        now_text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s))
        raise RequestTimeTooSkewed(
            f"The difference between the request time {ts[:40]} and the current time {now_text} is too large."
        )
    return stamped


def _nonce_used(nonce: str) -> SignatureNonceUsed:
    return SignatureNonceUsed(f"The SignatureNonce {nonce[:64]} has been used within 15 minutes.")


def _use_nonce(nonces: NonceCache, key: AccessKey, nonce: str, stamped_s: float, now_s: float) -> UsedNonce:
    if len(nonce) > MAX_NONCE_LEN or not nonces.use(key.id, nonce):
        raise _nonce_used(nonce)
    # The request is accepted until its time leaves the window: the nonce must stay used until then.
    return UsedNonce(key.id, nonce, int((max(stamped_s, now_s) + MAX_SKEW_S) * 1000))
