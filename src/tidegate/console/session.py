"""Console sign-in: HMAC-signed session cookies and the CSRF token that goes with each session.

The session is stateless: the cookie carries ``{key id, expiry, nonce}`` signed with a key derived from
the root AccessKey secret (any AccessKey of the account signs in: the root key or a RAM user's; the
session acts as that key's identity, with its permissions), so every server process that shares the root
key (several servers on one PostgreSQL database) accepts the same cookie and nothing is written to the
store per sign-in. Each request re-resolves the key id, so a key that is removed (or disabled) ends its
sessions at once. The CSRF token is an HMAC of the session nonce: the page reads it from
``GET /console/api/session`` and sends it in the ``X-CSRF-Token`` header of every state-changing request.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field

from tidegate.auth.keys import AccessKey, KeyRing, derive_key
from tidegate.errors import AuthError

__all__ = [
    "COOKIE_NAME",
    "CSRF_HEADER",
    "SESSION_TTL_S",
    "ConsoleUnauthorized",
    "CsrfRejected",
    "Session",
    "SessionSigner",
]

COOKIE_NAME = "tidegate_console"
CSRF_HEADER = "x-csrf-token"
#: How long a sign-in lasts (a working day); the page asks for the key again afterwards.
SESSION_TTL_S = 8 * 3600


class ConsoleUnauthorized(AuthError):
    """Sign in to the console with an AccessKey of the server."""

    code = "Unauthorized"


class CsrfRejected(AuthError):
    """The request lacks the session's CSRF token."""

    code = "AccessDenied"


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    """A verified console session."""

    key_id: str
    expires_s: int
    nonce: str
    #: The key the session was signed in with, as resolved when the session was last verified.
    key: AccessKey | None = field(default=None, compare=False, repr=False)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and verifies session cookies for one key ring.

    Args:
        keyring: the server's keys; the signing key is derived from the root secret.
    """

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring
        self._key = derive_key(keyring.root.secret, "console-session")

    def _mac(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def sign_in(self, key_id: str, secret: str, now_s: float) -> tuple[str, Session]:
        """Check an AccessKey pair and return ``(cookie value, session)``.

        Raises:
            ConsoleUnauthorized: unknown key, temporary key, or wrong secret.
        """
        try:
            key = self.keyring.resolve(key_id, None, now_s)
        except AuthError:
            raise ConsoleUnauthorized("The AccessKey ID or secret is wrong.") from None
        if not secret or not hmac.compare_digest(key.secret.encode(), secret.encode()):
            raise ConsoleUnauthorized("The AccessKey ID or secret is wrong.")
        session = Session(key_id=key_id, expires_s=int(now_s) + SESSION_TTL_S, nonce=secrets.token_hex(16), key=key)
        payload = json.dumps({"k": session.key_id, "e": session.expires_s, "n": session.nonce}).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}", session

    def verify(self, cookie: str | None, now_s: float) -> Session:
        """Return the session of a cookie value.

        Raises:
            ConsoleUnauthorized: missing, forged, expired, or its key no longer exists.
        """
        if not cookie or cookie.count(".") != 1 or len(cookie) > 1024:
            raise ConsoleUnauthorized()
        body, mac = cookie.split(".")
        try:
            payload, given = _unb64(body), _unb64(mac)
        except ValueError:
            raise ConsoleUnauthorized() from None
        if not hmac.compare_digest(self._mac(payload), given):
            raise ConsoleUnauthorized()
        try:
            doc = json.loads(payload)
            session = Session(key_id=str(doc["k"]), expires_s=int(doc["e"]), nonce=str(doc["n"]))
        except (ValueError, KeyError, TypeError):
            raise ConsoleUnauthorized() from None
        if session.expires_s <= now_s:
            raise ConsoleUnauthorized("The console session has expired: sign in again.")
        try:
            key = self.keyring.resolve(session.key_id, None, now_s)
        except AuthError:
            raise ConsoleUnauthorized() from None
        return Session(key_id=session.key_id, expires_s=session.expires_s, nonce=session.nonce, key=key)

    def csrf_token(self, session: Session) -> str:
        """The CSRF token of a session (what state-changing requests must echo)."""
        return self._mac(b"csrf|" + session.nonce.encode()).hex()

    def check_csrf(self, session: Session, token: str | None) -> None:
        """Raise CsrfRejected unless ``token`` is the session's CSRF token."""
        if not token or not hmac.compare_digest(self.csrf_token(session), token):
            raise CsrfRejected()
