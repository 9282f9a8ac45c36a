"""The identity of the servers sharing a store: one account, one region, one root key.

Servers that share a store must agree on the root AccessKey (requests, temporary credentials and task
tokens are signed with it or with keys derived from it), the region and the account id. The first server
to open a store records their *fingerprints* in the store's settings (:data:`SETTING`, written once with
put-if-absent, so two first starts cannot both win); every later server compares its own and refuses to
start on any difference (:class:`IdentityMismatch`, a configuration error).

What is recorded is never a secret: the root key's id, ``HMAC-SHA256(secret, "tidegate/identity-fingerprint")``
truncated to 16 hex digits, the region and the account id. The task-token and temporary-credential keys
are derived from the root secret, so the root key's fingerprint covers them. Push-signing keys are not part
of the identity: each server signs pushes with its own key and publishes its certificate in the store,
where every server serves it.

Rotating the root key (or moving the store to another region or account) means stopping every server and
starting one with the new settings and ``--reset-identity`` (:func:`reset_identity`), then the others.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from tidegate.auth.keys import AccessKey, derive_key
from tidegate.errors import ConfigurationError
from tidegate.store import Store

__all__ = [
    "SETTING",
    "Identity",
    "IdentityMismatch",
    "claim_identity",
    "compare_identity",
    "key_fingerprint",
    "parse_identity",
    "reset_identity",
]

#: The setting that holds the store's identity (a JSON object of :class:`Identity`'s fields).
SETTING = "server-identity"
#: Hex digits of the root key's fingerprint kept (64 bits: enough to tell two keys apart, never the key).
FINGERPRINT_DIGITS = 16
_MAX_FIELD = 256  # a field of a stored identity longer than this is not one tidegate wrote


def key_fingerprint(secret: str) -> str:
    """The fingerprint of a root secret: a truncated HMAC-SHA256 of a fixed label keyed by the secret."""
    return derive_key(secret, "identity-fingerprint").hex()[:FINGERPRINT_DIGITS]


@dataclass(frozen=True, slots=True)
class Identity:
    """What every server sharing a store must agree on (no secret in it)."""

    account_id: str
    region: str
    key_id: str
    key_fingerprint: str

    @classmethod
    def of(cls, root: AccessKey, region: str) -> Identity:
        """The identity of a server with the root key ``root`` answering for ``region``."""
        return cls(root.account_id, region, root.id, key_fingerprint(root.secret))

    def to_json(self) -> str:
        """The setting's value."""
        return json.dumps(asdict(self), sort_keys=True)

    def describe(self, key_id: bool = True) -> str:
        """``account A, region R, root key ID (fingerprint F)`` for a message."""
        key = f", root key {self.key_id} (fingerprint {self.key_fingerprint})" if key_id else ""
        return f"account {self.account_id}, region {self.region}{key}"


class IdentityMismatch(ConfigurationError):
    """This server's account, region or root key is not the one of the servers sharing its store."""

    code = "IdentityMismatch"


def parse_identity(value: str) -> Identity:
    """The identity a setting holds.

    Raises:
        ConfigurationError: the value is not an identity tidegate wrote.
    """
    names = [f.name for f in fields(Identity)]
    try:
        doc = json.loads(value) if len(value) <= 16 * _MAX_FIELD else None
    except ValueError:
        doc = None
    if (
        not isinstance(doc, dict)
        or sorted(doc) != sorted(names)
        or not all(isinstance(doc[n], str) and 0 < len(doc[n]) <= _MAX_FIELD and doc[n].isprintable() for n in names)
    ):
        raise ConfigurationError(
            f"the store's server identity (setting {SETTING!r}) is unreadable: stop every server and start one "
            "with --reset-identity to record its own"
        )
    return Identity(**{n: doc[n] for n in names})


def compare_identity(stored: Identity, mine: Identity, advice: str) -> None:
    """Raise :class:`IdentityMismatch` naming every difference between the store's identity and this server's.

    ``advice`` ends the message: what the operator does about it, in the words of the caller's settings.
    """
    differs = []
    if mine.account_id != stored.account_id:
        differs.append(f"account {mine.account_id}")
    if mine.region != stored.region:
        differs.append(f"region {mine.region}")
    if mine.key_id != stored.key_id:
        differs.append(f"root key {mine.key_id} (fingerprint {mine.key_fingerprint})")
    elif mine.key_fingerprint != stored.key_fingerprint:
        differs.append(f"root key {mine.key_id} with another secret (fingerprint {mine.key_fingerprint})")
    if not differs:
        return
    raise IdentityMismatch(f"this store belongs to {stored.describe()}; this server has {', '.join(differs)}: {advice}")


def stored_identity(store: Store) -> Identity | None:
    """The identity recorded in ``store``, or None before any server recorded one."""
    value = store.get_setting(SETTING)
    return None if value is None else parse_identity(value)


def claim_identity(store: Store, mine: Identity, advice: str) -> bool:
    """Record ``mine`` as the store's identity if it has none; else check it is the same.

    Returns:
        True when this call recorded it (the first server on this store).

    Raises:
        IdentityMismatch: the store belongs to another identity (nothing is written); the message ends
            with ``advice``.
        ConfigurationError: the recorded identity is unreadable.
    """
    existing = store.get_setting(SETTING)
    if existing is None:
        won = store.put_setting_if_absent(SETTING, mine.to_json())
        if won == mine.to_json():
            return True
        existing = won  # another server recorded its identity in between
    compare_identity(parse_identity(existing), mine, advice)
    return False


def reset_identity(store: Store, mine: Identity) -> Identity | None:
    """Record ``mine`` as the store's identity whatever it was; return the one it replaces (None: none)."""
    value = store.get_setting(SETTING)
    try:
        previous = None if value is None else parse_identity(value)
    except ConfigurationError:
        previous = None  # an unreadable identity is what a reset is for
    store.replace_setting(SETTING, mine.to_json())
    return previous
