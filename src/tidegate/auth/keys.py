"""AccessKeys: the root key, STS-style temporary credentials, and key derivation.

The server has one root AccessKey (from ``TIDEGATE_ACCESS_KEY_ID``/``TIDEGATE_ACCESS_KEY_SECRET``, else
``<data>/root-key.json``, else generated on first start). Temporary credentials need no table: the
security token is ``tgsts2.<payload>.<mac>`` where ``payload`` is the base64url of the JSON array
``[ak id, expires ms, account, role name, role id, session name, session policy text or null]`` and
``mac = base64url(HMAC-SHA256(sts_key, "tgsts2." + payload))``; the temporary secret is
``base64url(HMAC-SHA256(sts_key, "secret\\0" + payload))[:30]``. So the server recomputes the secret from
the token a request carries (RPC ``SecurityToken`` parameter, MNS ``security-token`` header), and nobody
without ``sts_key`` can mint a token or learn a secret from one. ``sts_key`` is derived from the root
secret (:func:`derive_key`), so every server process sharing the root key accepts the same credentials,
and rotating the root key revokes them all.

RAM users' AccessKeys are not stored either: the store keeps each key's id, user, status and a random salt,
and the secret is ``base64url(HMAC-SHA256(derive_key(root.secret, "ram-user-key"), key_id + "\\0" + salt))[:30]``
(:func:`derive_user_secret`). Rotating the root key therefore gives every user key a new secret, as it
revokes temporary credentials and console sessions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import stat
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from tidegate.auth.errors import InvalidAccessKeyId, InvalidSecurityToken, SecurityTokenExpired
from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.errors import ConfigurationError
from tidegate.names import DEFAULT_ACCOUNT_ID as DEFAULT_ACCOUNT_ID  # re-exported for callers of this module

ROOT_KEY_FILE = "root-key.json"
ENV_ID = "TIDEGATE_ACCESS_KEY_ID"
ENV_SECRET = "TIDEGATE_ACCESS_KEY_SECRET"
ENV_ACCOUNT = "TIDEGATE_ACCOUNT_ID"
#: Longest lifetime of temporary credentials (seconds); STS itself allows up to 12 hours.
MAX_TEMPORARY_TTL_S = 43200

_ALNUM = string.ascii_letters + string.digits
_TOKEN_PREFIX = "tgsts2."
#: Longest session policy a role session carries (STS AssumeRole's limit on ``Policy``).
MAX_SESSION_POLICY = 2048
#: Longest security token accepted: room for the longest session policy, JSON-escaped, in base64.
MAX_SECURITY_TOKEN = 8192


class KeyKind(StrEnum):
    """Whether a key is the account's root key or a temporary (STS-style) one."""

    ROOT = "root"
    USER = "user"  # a RAM user's AccessKey
    TEMPORARY = "temporary"  # STS credentials of an assumed role


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessKey:
    """One AccessKey. ``expires_ms`` and ``security_token`` are set for temporary keys only."""

    id: str
    secret: str = field(repr=False)
    kind: KeyKind
    account_id: str
    expires_ms: int | None = None
    security_token: str | None = field(default=None, repr=False)
    #: USER keys: the RAM user's name.
    user_name: str | None = None
    #: TEMPORARY keys: the assumed role's name, the session name and the session policy's text (or None).
    role_name: str | None = None
    role_id: str | None = None
    session_name: str | None = None
    session_policy: str | None = field(default=None, repr=False)


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(n))


def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def generate_access_key(account_id: str = DEFAULT_ACCOUNT_ID) -> AccessKey:
    """Return a new root key: id ``LTAI`` + 20 letters/digits, secret 30 letters/digits (URL-safe)."""
    return AccessKey(id="LTAI" + _random(20), secret=_random(30), kind=KeyKind.ROOT, account_id=account_id)


def derive_key(master: str | bytes, purpose: str) -> bytes:
    """Derive an independent 32-byte key for ``purpose`` (``"sts"``, ``"task-token"``…) from a master."""
    m = master.encode("utf-8") if isinstance(master, str) else master
    return hmac.new(m, f"tidegate/{purpose}".encode(), hashlib.sha256).digest()


def derive_user_secret(user_key: bytes, key_id: str, salt: str) -> str:
    """The secret of a RAM user's AccessKey: 30 URL-safe characters derived from the key id and its salt.

    Args:
        user_key: ``derive_key(root.secret, "ram-user-key")`` (:attr:`KeyRing.user_key`).
        key_id: the AccessKey ID.
        salt: the key's random salt (stored with the key).
    """
    mac = hmac.new(user_key, f"{key_id}\0{salt}".encode(), hashlib.sha256).digest()
    return _b64u(mac)[:30]


@dataclass(frozen=True, slots=True)
class UserKeyRecord:
    """What the store knows of a RAM user's AccessKey: its user, salt and whether it is active."""

    user_name: str
    salt: str
    active: bool


#: Finds a user AccessKey by id (None: no such key); set on the :class:`KeyRing` by the server's wiring.
UserKeyLookup = Callable[[str], UserKeyRecord | None]


def _check_credential(name: str, value: str) -> None:
    if not (0 < len(value) <= 256) or not value.isascii() or not value.isprintable() or " " in value:
        raise ConfigurationError(f"{name} must be 1-256 printable ASCII characters without spaces")


def _read_key_file(path: Path, account_id: str | None) -> AccessKey:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(f"{path} is readable by others; run: chmod 600 {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        key_id, secret = str(data["access_key_id"]), str(data["access_key_secret"])
        stored_account = str(data.get("account_id") or DEFAULT_ACCOUNT_ID)
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigurationError(f"{path} is not a valid root key file: {e}") from None
    _check_credential("access_key_id", key_id)
    _check_credential("access_key_secret", secret)
    return AccessKey(id=key_id, secret=secret, kind=KeyKind.ROOT, account_id=account_id or stored_account)


def load_or_create_root_key(data_dir: Path, env: Mapping[str, str]) -> tuple[AccessKey, bool]:
    """Return the root key and whether it was just created (so the caller prints it once).

    Order: both ``TIDEGATE_ACCESS_KEY_ID`` and ``TIDEGATE_ACCESS_KEY_SECRET`` set → those; else
    ``data_dir/root-key.json`` (must be mode 0600); else a new key written there with mode 0600.
    ``TIDEGATE_ACCOUNT_ID`` overrides the account id in every case.

    Raises:
        ConfigurationError: only one of the two variables is set, a value is unusable, or the key file is
            malformed or readable by group/others.
    """
    env_id, env_secret = env.get(ENV_ID) or "", env.get(ENV_SECRET) or ""
    account_id = env.get(ENV_ACCOUNT) or None
    if account_id is not None:
        _check_credential(ENV_ACCOUNT, account_id)
    if env_id or env_secret:
        if not (env_id and env_secret):
            raise ConfigurationError(f"set both {ENV_ID} and {ENV_SECRET}, or neither")
        _check_credential(ENV_ID, env_id)
        _check_credential(ENV_SECRET, env_secret)
        acct = account_id or DEFAULT_ACCOUNT_ID
        return AccessKey(id=env_id, secret=env_secret, kind=KeyKind.ROOT, account_id=acct), False
    path = data_dir / ROOT_KEY_FILE
    if path.exists():
        return _read_key_file(path, account_id), False
    data_dir.mkdir(parents=True, exist_ok=True)
    key = generate_access_key(account_id or DEFAULT_ACCOUNT_ID)
    doc = {"access_key_id": key.id, "access_key_secret": key.secret, "account_id": key.account_id}
    # Write a private temp file, then link it into place: the link fails if another process won the race
    # (we then read its key), and no reader ever sees a half-written file.
    tmp = data_dir / f".{ROOT_KEY_FILE}.{os.getpid()}.{_random(6)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read_key_file(path, account_id), False
    finally:
        tmp.unlink(missing_ok=True)
    return key, True


# --- temporary credentials ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RoleSession:
    """What a role session's token carries besides its key id, expiry and account.

    Attributes:
        role_name: the assumed role's name.
        role_id: the role's id when the session was issued (a role deleted and created again under the
            same name has another id, so the old sessions do not carry over to it).
        session_name: the session's name (``RoleSessionName``).
        policy: the session policy's text, or None.
    """

    role_name: str
    role_id: str
    session_name: str
    policy: str | None = None


def _token_mac(sts_key: bytes, payload: str) -> str:
    return _b64u(hmac.new(sts_key, (_TOKEN_PREFIX + payload).encode("ascii"), hashlib.sha256).digest())


def _temp_secret(sts_key: bytes, payload: str) -> str:
    return _b64u(hmac.new(sts_key, b"secret\0" + payload.encode("ascii"), hashlib.sha256).digest())[:30]


def issue_temporary(
    sts_key: bytes,
    ttl_s: float,
    now: float,
    account_id: str = DEFAULT_ACCOUNT_ID,
    *,
    session: RoleSession | None = None,
) -> AccessKey:
    """Issue temporary credentials valid for ``ttl_s`` seconds from ``now`` (epoch seconds).

    Args:
        sts_key: the server's STS signing key (``derive_key(root.secret, "sts")``; see :class:`KeyRing`).
        ttl_s: lifetime, 0 < ttl_s ≤ :data:`MAX_TEMPORARY_TTL_S`.
        now: current time, epoch seconds.
        account_id: the account the credentials act for.
        session: the role session they belong to. Credentials without one carry no permission at all
            (the authorizer refuses them); only role sessions act for anyone.

    Returns:
        A key with id ``STS.`` + 20 letters/digits, a derived secret and its ``security_token``.

    Raises:
        ValueError: ``ttl_s`` out of range, or a session policy longer than :data:`MAX_SESSION_POLICY`.
    """
    if not 0 < ttl_s <= MAX_TEMPORARY_TTL_S:
        raise ValueError(f"ttl_s must be in (0, {MAX_TEMPORARY_TTL_S}]")
    if session is not None and session.policy is not None and len(session.policy) > MAX_SESSION_POLICY:
        raise ValueError(f"a session policy is at most {MAX_SESSION_POLICY} characters")
    key_id = "STS." + _random(20)
    expires_ms = int((now + ttl_s) * 1000)
    fields: list[str | int | None] = [key_id, expires_ms, account_id, "", "", "", None]
    if session is not None:
        fields[3:] = [session.role_name, session.role_id, session.session_name, session.policy]
    text = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    payload = _b64u(text.encode("utf-8"))
    token = f"{_TOKEN_PREFIX}{payload}.{_token_mac(sts_key, payload)}"
    return _temporary_key(sts_key, payload, key_id, account_id, expires_ms, token, session)


def _parse_payload(payload: str) -> tuple[str, int, str, RoleSession | None]:
    """The fields of a genuine token's payload (its MAC already checked)."""
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    fields = json.loads(raw.decode("utf-8"))
    if not isinstance(fields, list) or len(fields) != 7:
        raise ValueError("not a token payload")
    key_id, expires_ms, account_id, role_name, role_id, session_name, policy = fields
    if not all(isinstance(v, str) for v in (key_id, account_id, role_name, role_id, session_name)):
        raise ValueError("not a token payload")
    if type(expires_ms) is not int or not (policy is None or isinstance(policy, str)):
        raise ValueError("not a token payload")
    session = RoleSession(role_name=role_name, role_id=role_id, session_name=session_name, policy=policy)
    return key_id, expires_ms, account_id, session if role_name else None


def resolve_temporary(sts_key: bytes, access_key_id: str, security_token: str, now: float) -> AccessKey:
    """Check a security token and return the temporary key it describes (secret recomputed).

    Raises:
        InvalidSecurityToken: malformed, forged, or issued for another AccessKey ID.
        SecurityTokenExpired: past its expiry.
    """
    bad = InvalidSecurityToken()
    if not security_token.startswith(_TOKEN_PREFIX) or len(security_token) > MAX_SECURITY_TOKEN:
        raise bad
    payload, _, mac = security_token[len(_TOKEN_PREFIX) :].partition(".")
    if not payload or not hmac.compare_digest(_token_mac(sts_key, payload).encode(), mac.encode()):
        raise bad
    try:
        key_id, expires_ms, account_id, session = _parse_payload(payload)
    except (binascii.Error, ValueError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise bad from None
    if not hmac.compare_digest(key_id.encode(), access_key_id.encode()):
        raise InvalidSecurityToken("The security token does not belong to this AccessKey ID.")
    if expires_ms <= now * 1000:
        raise SecurityTokenExpired()
    return _temporary_key(sts_key, payload, key_id, account_id, expires_ms, security_token, session)


def _temporary_key(
    sts_key: bytes,
    payload: str,
    key_id: str,
    account_id: str,
    expires_ms: int,
    token: str,
    session: RoleSession | None,
) -> AccessKey:
    """The temporary key a token's payload describes; its secret is derived from the payload, never stored."""
    return AccessKey(
        id=key_id,
        secret=_temp_secret(sts_key, payload),
        kind=KeyKind.TEMPORARY,
        account_id=account_id,
        expires_ms=expires_ms,
        security_token=token,
        role_name=session.role_name if session else None,
        role_id=session.role_id if session else None,
        session_name=session.session_name if session else None,
        session_policy=session.policy if session else None,
    )


class KeyRing:
    """The server's keys: the root key and the keys derived from it.

    Args:
        root: the root AccessKey.
        user_keys: finds RAM users' AccessKeys (None: only the root key and temporary credentials resolve);
            may be set later through :attr:`user_keys`.
    """

    def __init__(self, root: AccessKey, user_keys: UserKeyLookup | None = None) -> None:
        self.root = root
        self._sts_key = derive_key(root.secret, "sts")
        self.user_key = derive_key(root.secret, "ram-user-key")
        self.task_tokens = TaskTokenSigner(derive_key(root.secret, "task-token"))
        self.user_keys = user_keys

    def issue_temporary(self, ttl_s: float, now: float) -> AccessKey:
        """Issue temporary credentials that name no role: they authenticate, but carry no permission.

        Kept only for callers not yet moved to :meth:`issue_role_session`; the authorizer refuses every
        request signed with them.
        """
        return issue_temporary(self._sts_key, ttl_s, now, self.root.account_id)

    def issue_role_session(
        self,
        role_name: str,
        session_name: str,
        ttl_s: float,
        now: float,
        session_policy: str | None = None,
        *,
        role_id: str = "",
    ) -> AccessKey:
        """Issue the credentials of a session of role ``role_name`` (see :func:`issue_temporary`).

        The caller (STS AssumeRole, or the server assuming a role for itself) has checked that the role
        exists, trusts the caller, and that ``session_policy`` parses; ``role_id`` is the role's id.
        """
        session = RoleSession(role_name=role_name, role_id=role_id, session_name=session_name, policy=session_policy)
        return issue_temporary(self._sts_key, ttl_s, now, self.root.account_id, session=session)

    def resolve(self, access_key_id: str, security_token: str | None, now: float) -> AccessKey:
        """Return the key a request claims, with its secret, to check the request's signature.

        Args:
            access_key_id: the id the request names.
            security_token: the RPC ``SecurityToken`` / MNS ``security-token`` value; ``None`` or empty
                when the request carries none.
            now: current time, epoch seconds.

        Raises:
            InvalidAccessKeyId: unknown id, a temporary id without its token, or a user key that is Inactive.
            InvalidSecurityToken, SecurityTokenExpired: see :func:`resolve_temporary`.
        """
        if security_token:
            return resolve_temporary(self._sts_key, access_key_id, security_token, now)
        if hmac.compare_digest(access_key_id.encode(), self.root.id.encode()):
            return self.root
        lookup = self.user_keys
        found = lookup(access_key_id) if lookup is not None and 0 < len(access_key_id) <= 64 else None
        if found is None or not found.active:
            raise InvalidAccessKeyId(f"The AccessKey ID {access_key_id[:64]} is invalid.")
        return self.user_access_key(access_key_id, found)

    def user_access_key(self, key_id: str, record: UserKeyRecord) -> AccessKey:
        """The AccessKey of a RAM user, with its derived secret."""
        return AccessKey(
            id=key_id,
            secret=derive_user_secret(self.user_key, key_id, record.salt),
            kind=KeyKind.USER,
            account_id=self.root.account_id,
            user_name=record.user_name,
        )

    def resolve_secret(self, access_key_id: str, security_token: str | None, now: float) -> str:
        """Return the secret to verify a request with; errors as :meth:`resolve`."""
        return self.resolve(access_key_id, security_token, now).secret
