"""What the queue and topic services share: the query file, the clock, names, handles, properties."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from tidegate.clock import now_ms
from tidegate.jsontext import compact_ascii
from tidegate.mq.errors import InvalidQueueArgument, InvalidQueueName, QueueNameLengthError, ReceiptHandleError
from tidegate.mq.wire_requests import MessageProperty
from tidegate.names import MNS_NAME_MAX, MNS_NAME_RE
from tidegate.store.database import Database, Params, Tx, load_queries

Clock = Callable[[], int]
_HANDLE = re.compile(r"([0-9a-f]{1,16})-([0-9a-f]{12})")


wall_ms = now_ms


class MqBase:
    """The message service's query file over a shared :class:`Database`.

    Queries are run with ``tx.raw`` from our own query dictionary, so a caller's transaction (opened on
    the same database for another domain) can carry message-service writes too.
    """

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.queries = load_queries(db.dialect, "mq")
        self.clock: Clock = clock or wall_ms

    def rows(self, tx: Tx, name: str, params: Params) -> list[dict[str, Any]]:
        """Run a named query of ``mq.sql`` in ``tx`` and return its rows."""
        return tx.raw(self.queries[name], params)

    def row(self, tx: Tx, name: str, params: Params) -> dict[str, Any] | None:
        """Run a named query and return its first row, or None."""
        rows = tx.raw(self.queries[name], params)
        return rows[0] if rows else None

    def count(self, tx: Tx, name: str, params: Params) -> int:
        """Run a named statement and return the number of rows it changed."""
        return tx.raw_count(self.queries[name], params)


def check_name(name: str, what: str = "queue") -> str:
    """Validate a queue, topic or subscription name: letters, digits, hyphens; starts with letter/digit.

    Raises:
        QueueNameLengthError: longer than :data:`MNS_NAME_MAX`.
        InvalidQueueName: any other violation.
    """
    if len(name) > MNS_NAME_MAX:
        raise QueueNameLengthError(f"The length of {what} name should be between 1 and {MNS_NAME_MAX}.")
    if not MNS_NAME_RE.fullmatch(name):
        raise InvalidQueueName(f"The {what} name {name[:64]!r} is invalid.")
    return name


def new_message_id() -> str:
    """Return a new message id: 32 upper-case hex digits."""
    return uuid.uuid4().hex.upper()


def make_handle(row_id: int, receipt: str) -> str:
    """Return the receipt handle of one receive: URL-safe (hex and ``-`` only), signed raw by the SDKs."""
    return f"{row_id:x}-{receipt}"


def parse_handle(handle: str) -> tuple[int, str]:
    """Split a receipt handle into ``(row id, nonce)``.

    Raises:
        ReceiptHandleError: not a handle this server issued.
    """
    m = _HANDLE.fullmatch(handle.strip())
    if m is None:
        raise ReceiptHandleError(f"The receipt handle you provide is not valid: {handle[:64]!r}.")
    return int(m.group(1), 16), m.group(2)


def encode_props(group: str | None, user: Sequence[MessageProperty], system: Sequence[MessageProperty]) -> str | None:
    """Return the stored JSON of a message's optional group id and properties (None when it has none)."""
    if group is None and not user and not system:
        return None
    doc: dict[str, Any] = {}
    if group is not None:
        doc["g"] = group
    if user:
        doc["u"] = [[p.name, p.value, p.type] for p in user]
    if system:
        doc["s"] = [[p.name, p.value, p.type] for p in system]
    return compact_ascii(doc)


def decode_props(
    text: str | None,
) -> tuple[str | None, tuple[MessageProperty, ...], tuple[MessageProperty, ...]]:
    """Inverse of :func:`encode_props`."""
    if not text:
        return None, (), ()
    doc = json.loads(text)
    user = tuple(MessageProperty(*p) for p in doc.get("u", ()))
    system = tuple(MessageProperty(*p) for p in doc.get("s", ()))
    return doc.get("g"), user, system


def check_range(what: str, value: int, low: int, high: int) -> int:
    """Return ``value`` if ``low <= value <= high``.

    Raises:
        InvalidQueueArgument: out of range (the service's own wording).
    """
    if not low <= value <= high:
        raise InvalidQueueArgument(f"The value of {what} should between {low} and {high}.")
    return value
