"""Task tokens: signed, self-routing handles for waitForCallback steps (docs/auth.md, Task tokens).

Layout: ``base64url("v1#<flow>#<execution>#<task_key>#" + base64(HMAC-SHA1(key, that prefix)))`` with the
outer padding stripped. The outer alphabet is ``A-Z a-z 0-9 - _`` only, so a token survives a query string,
a form body, JSON and an MNS message unencoded (no ``+ / = & %``). The inner layout is the real service's
(a decoded production token reads ``v1#WaitForCallbackWorkflow#<exec>#2#<20-byte sig>``), which keeps
tokens routable without a table: the server finds the execution from the token itself.

``task_key`` is chosen by the engine and must bind the token to one attempt of one step (for instance the
step's event id, which grows on every retry), so that a retried task gets a new token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from tidegate.auth.errors import InvalidTaskToken

VERSION = "v1"
#: Upper bound on an accepted token (names are ≤128 chars each, so real tokens are far shorter).
MAX_TOKEN_LEN = 2048


class TaskTokenSigner:
    """Mints and checks task tokens with one server key.

    Args:
        key: secret bytes; use a key derived for this purpose only (:func:`tidegate.auth.keys.derive_key`).
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a task-token key needs at least 16 bytes")
        self._key = key

    def _sig(self, prefix: str) -> str:
        mac = hmac.new(self._key, prefix.encode("utf-8"), hashlib.sha1).digest()
        return base64.b64encode(mac).decode("ascii")

    def mint(self, flow_name: str, execution_name: str, task_key: str) -> str:
        """Return the token for one task attempt.

        Raises:
            ValueError: a part is empty or contains ``#``.
        """
        for part in (flow_name, execution_name, task_key):
            if not part or "#" in part:
                raise ValueError(f"task-token part {part!r} must be non-empty and contain no '#'")
        prefix = f"{VERSION}#{flow_name}#{execution_name}#{task_key}#"
        raw = (prefix + self._sig(prefix)).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def parse(self, token: str) -> tuple[str, str, str]:
        """Return ``(flow_name, execution_name, task_key)`` of a token this server minted.

        Raises:
            InvalidTaskToken: garbled, truncated, of another version, or with a wrong signature.
        """
        bad = InvalidTaskToken(f"The task token {token[:40]!r} is not valid.")
        if not token or len(token) > MAX_TOKEN_LEN or not token.isascii():
            raise bad
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            text = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            raise bad from None
        # Re-encoding must give the same text back: rejects non-canonical encodings of the same bytes.
        if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != token:
            raise bad
        parts = text.split("#")
        if len(parts) != 5 or parts[0] != VERSION or not all(parts[1:4]):
            raise bad
        prefix = "#".join(parts[:4]) + "#"
        if not hmac.compare_digest(self._sig(prefix).encode("ascii"), parts[4].encode("utf-8")):
            raise bad
        return parts[1], parts[2], parts[3]
