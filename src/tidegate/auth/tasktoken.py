"""Task tokens: signed, self-routing handles for waitForCallback steps (docs/auth.md, Task tokens).

Layout: ``base64url("v1#<flow>#<execution>#<binding>#" + base64(HMAC-SHA1(key, that prefix)))`` with the
outer padding stripped. The outer alphabet is ``A-Z a-z 0-9 - _`` only, so a token survives a query string,
a form body, JSON and an MNS message unencoded (no ``+ / = & %``). The inner layout is the real service's
(a decoded production token reads ``v1#WaitForCallbackWorkflow#<exec>#2#<20-byte sig>``), which keeps
tokens routable without a table: the server finds the execution from the token itself.

``binding`` is ``<execution id>:<flow tag>:<task key>``: the store id of the execution (never reused), a
short hash of its flow's id (a random id per flow created, so a store rebuilt from scratch with the same
names and ids does not match either) and the engine's task key, which binds the token to one attempt of
one step (the step's event id and attempt, so that a retried task gets a new token). A token therefore
names exactly one execution: deleting a flow, creating it again and starting an execution of the same name
gives new tokens, and the old ones complete nothing.

Tokens minted before executions were bound (``<task key>`` alone in the fourth part, never containing ``:``)
still parse, with ``execution_id`` None; the runtime accepts them only for executions started before the
upgrade (:mod:`tidegate.runtime.tokens`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass

from tidegate.auth.errors import InvalidTaskToken

VERSION = "v1"
#: Upper bound on an accepted token (names are ≤128 chars each, so real tokens are far shorter).
MAX_TOKEN_LEN = 2048
_TAG_LEN = 10
_MAX_ID_DIGITS = 19


def flow_tag(flow_id: str) -> str:
    """The short hash of a flow's store id that a token carries."""
    return hashlib.sha256(flow_id.encode("utf-8")).hexdigest()[:_TAG_LEN]


@dataclass(frozen=True)
class TaskTokenClaims:
    """What a genuine token says: the task's flow, execution and key, and the execution it is bound to.

    ``execution_id`` and ``flow_tag`` are None for a token minted before tokens were bound to executions.
    """

    flow_name: str
    execution_name: str
    task_key: str
    execution_id: int | None = None
    flow_tag: str | None = None

    def matches(self, execution_id: int, flow_id: str, flow_name: str, execution_name: str) -> bool:
        """Whether this (bound) token was minted for that execution."""
        return (
            self.execution_id == execution_id
            and self.flow_tag is not None
            and hmac.compare_digest(self.flow_tag, flow_tag(flow_id))
            and self.flow_name == flow_name
            and self.execution_name == execution_name
        )


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

    def mint(self, flow_name: str, execution_name: str, task_key: str, *, execution_id: int, flow_id: str) -> str:
        """Return the token for one task attempt of the execution with store id ``execution_id``.

        Raises:
            ValueError: a part is empty or contains ``#`` (or ``:`` in ``task_key``), or the id is not positive.
        """
        for part in (flow_name, execution_name, task_key, flow_id):
            if not part or "#" in part:
                raise ValueError(f"task-token part {part!r} must be non-empty and contain no '#'")
        if ":" in task_key:
            raise ValueError(f"task key {task_key!r} must not contain ':'")
        if not 0 < execution_id < 10**_MAX_ID_DIGITS:
            raise ValueError(f"execution id {execution_id!r} out of range")
        prefix = f"{VERSION}#{flow_name}#{execution_name}#{execution_id}:{flow_tag(flow_id)}:{task_key}#"
        raw = (prefix + self._sig(prefix)).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def claims(self, token: str) -> TaskTokenClaims:
        """Return what a token this server minted says.

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
        flow_name, execution_name, binding = parts[1], parts[2], parts[3]
        if ":" not in binding:
            return TaskTokenClaims(flow_name, execution_name, binding)  # minted before tokens were bound
        ident, tag, task_key = binding.split(":", 2)
        well_formed = ident.isascii() and ident.isdigit() and len(ident) < _MAX_ID_DIGITS and len(tag) == _TAG_LEN
        if not (well_formed and task_key):
            raise bad
        return TaskTokenClaims(flow_name, execution_name, task_key, int(ident), tag)

    def parse(self, token: str) -> tuple[str, str, str]:
        """Return ``(flow_name, execution_name, task_key)`` of a token this server minted.

        Raises:
            InvalidTaskToken: as :meth:`claims`.
        """
        c = self.claims(token)
        return c.flow_name, c.execution_name, c.task_key
