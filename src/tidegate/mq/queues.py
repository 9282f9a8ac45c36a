"""Queues on the store (docs/mq.md): attributes, send, receive with long polling, delete, visibility.

A message row's ``visible_ms`` is when it can next be received: the end of its delay, or of its
invisibility after a receive. Receiving claims rows in one write transaction (``BEGIN IMMEDIATE`` on
SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), sets a fresh receipt nonce and pushes ``visible_ms``
forward, so two receivers can never hold the same message while it is invisible, and an older handle stops
matching the row. Senders notify the channel ``q:<name>``; long polls wait on it (no sleep loops).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tidegate.mq._common import (
    MqBase,
    check_name,
    check_range,
    decode_props,
    encode_props,
    make_handle,
    new_message_id,
    parse_handle,
)
from tidegate.mq.errors import (
    InvalidQueueArgument,
    MessageNotExist,
    QueueAlreadyExist,
    QueueNotExist,
    ReceiptHandleError,
)
from tidegate.mq.wire_render import EntryError, MessageView, QueueInfo, SendResult
from tidegate.mq.wire_requests import (
    MAX_BATCH,
    MAX_MESSAGE_SIZE,
    QUEUE_RANGES,
    MessageRequest,
    QueueAttributes,
    check_message_text,
)
from tidegate.mq.wire_xml import body_md5, xml_text_problem
from tidegate.store.database import Tx

#: Service defaults (docs/protocols.md, MNS: queue attributes) for attributes a CreateQueue request leaves out.
QUEUE_DEFAULTS: dict[str, int] = {
    "visibility_timeout": 30,
    "maximum_message_size": MAX_MESSAGE_SIZE,
    "message_retention_period": 345600,
    "delay_seconds": 0,
    "polling_wait_seconds": 0,
    "logging_enabled": 0,
}
DEFAULT_PRIORITY = 8
MAX_WAIT_S = 30
MAX_BATCH_BYTES = MAX_MESSAGE_SIZE
#: Longest single wait on the notifier before re-checking the store: wake-ups from other processes on
#: the same SQLite file are not delivered, so their sends are seen after at most this long.
RECHECK_S = 1.0
#: Quarantined messages a listing shows at most.
MAX_QUARANTINE_LIST = 100
#: Peek rounds that set unrenderable messages aside before answering with what is left.
MAX_PEEK_ROUNDS = 8

log = logging.getLogger(__name__)


def queue_channel(name: str) -> str:
    """Return the notifier channel of queue ``name``."""
    return f"q:{name}"


def _attr_params(a: QueueAttributes) -> dict[str, Any]:
    logging = None if a.logging_enabled is None else int(a.logging_enabled)
    return {
        "visibility_timeout": a.visibility_timeout,
        "maximum_message_size": a.maximum_message_size,
        "message_retention_period": a.message_retention_period,
        "delay_seconds": a.delay_seconds,
        "polling_wait_seconds": a.polling_wait_seconds,
        "logging_enabled": logging,
    }


def _view(row: dict[str, Any], with_handle: bool) -> MessageView:
    group, user, system = decode_props(row["props"])
    return MessageView(
        message_id=row["message_id"],
        body=row["body"],
        body_md5=row["body_md5"],
        enqueue_time=int(row["enqueue_ms"]),
        first_dequeue_time=int(row["first_dequeue_ms"]),
        dequeue_count=int(row["dequeue_count"]),
        priority=int(row["priority"]),
        receipt_handle=make_handle(int(row["id"]), row["receipt"]) if with_handle else None,
        next_visible_time=int(row["visible_ms"]) if with_handle else None,
        message_group_id=group,
        user_properties=user,
        system_properties=system,
    )


def _view_problem(v: MessageView) -> str | None:
    # Every text a receive or peek renders; the numbers are rendered from ints.
    texts = [("body", v.body), ("message id", v.message_id), ("body MD5", v.body_md5)]
    if v.message_group_id is not None:
        texts.append(("group id", v.message_group_id))
    for p in (*v.user_properties, *v.system_properties):
        texts += [("property name", p.name), (f"property {p.name[:64]}", p.value), ("property type", p.type)]
    for what, text in texts:
        if not isinstance(text, str):
            return f"the {what} is not text"
        problem = xml_text_problem(text)
        if problem is not None:
            return f"the {what} holds {problem}, which XML 1.0 cannot carry"
    return None


def _checked_view(row: dict[str, Any], with_handle: bool) -> MessageView | str:
    """The view of a stored row, or why it cannot be rendered (it is then quarantined)."""
    try:
        view = _view(row, with_handle)
    except (ValueError, TypeError, KeyError, IndexError) as exc:  # damaged properties or columns
        return f"the stored message is damaged ({type(exc).__name__})"
    return _view_problem(view) or view


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedMessage:
    """A message set aside because a receive or peek could not render it (see docs/mq.md)."""

    id: int
    message_id: str
    priority: int
    enqueue_time: int
    dequeue_count: int
    quarantine_time: int
    reason: str


class QueueService(MqBase):
    """Queue operations over the store's :class:`~tidegate.store.database.Database` (one transaction each)."""

    # --- queues ----------------------------------------------------------------------------------------

    def create_queue(self, name: str, attrs: QueueAttributes) -> bool:
        """Create a queue; attributes left out take the service defaults.

        Returns:
            True when created, False when a queue of that name exists whose attributes agree with every
            attribute the request sets (an idempotent re-create).

        Raises:
            QueueAlreadyExist: the queue exists with a different value of an attribute the request sets.
        """
        check_name(name)
        sent = {k: v for k, v in _attr_params(attrs).items() if v is not None}
        params = {**QUEUE_DEFAULTS, **sent, "name": name, "now_s": self.clock() // 1000}
        with self.db.write() as tx:
            if self.row(tx, "insert_queue", params) is not None:
                return True
            existing = self.row(tx, "get_queue", {"name": name})
        if existing is None:  # pragma: no cover - deleted between the two statements is impossible in one tx
            raise QueueNotExist()
        if any(int(existing[k]) != int(v) for k, v in sent.items()):
            raise QueueAlreadyExist(f"The queue {name} already exists with different attributes.")
        return False

    def set_queue_attributes(self, name: str, attrs: QueueAttributes) -> None:
        """Override exactly the attributes the request sets.

        Raises:
            QueueNotExist: no such queue.
        """
        params = {**_attr_params(attrs), "name": name, "now_s": self.clock() // 1000}
        with self.db.write() as tx:
            if self.row(tx, "update_queue", params) is None:
                raise QueueNotExist()
            tx.notify(queue_channel(name))  # a shorter delay may make messages visible earlier

    def get_queue(self, name: str) -> QueueInfo:
        """Return the queue's attributes and message counts.

        Raises:
            QueueNotExist: no such queue.
        """
        now = self.clock()
        with self.db.read() as tx:
            row = self.row(tx, "get_queue", {"name": name})
            if row is None:
                raise QueueNotExist()
            counts = self.row(tx, "queue_counts", {"name": name, "now": now}) or {}
        return self._info(row, counts)

    @staticmethod
    def _info(row: dict[str, Any], counts: dict[str, Any]) -> QueueInfo:
        return QueueInfo(
            name=row["name"],
            create_time=int(row["created_s"]),
            last_modify_time=int(row["modified_s"]),
            visibility_timeout=int(row["visibility_timeout"]),
            maximum_message_size=int(row["maximum_message_size"]),
            message_retention_period=int(row["message_retention_period"]),
            delay_seconds=int(row["delay_seconds"]),
            polling_wait_seconds=int(row["polling_wait_seconds"]),
            active_messages=int(counts.get("active") or 0),
            inactive_messages=int(counts.get("inactive") or 0),
            delay_messages=int(counts.get("delayed") or 0),
            logging_enabled=bool(row["logging_enabled"]),
        )

    def delete_queue(self, name: str) -> None:
        """Delete a queue and its messages. Deleting a missing queue succeeds (as the service does)."""
        with self.db.write() as tx:
            self.count(tx, "delete_queue_messages", {"name": name})
            self.count(tx, "delete_queue_quarantined", {"name": name})
            self.count(tx, "delete_queue", {"name": name})
            tx.notify(queue_channel(name))

    def list_queues(
        self, prefix: str = "", limit: int = 1000, marker: str = "", with_counts: bool = False
    ) -> tuple[list[QueueInfo], str | None]:
        """Return up to ``limit`` queues named ``prefix…`` after ``marker``, and the next marker (or None)."""
        limit = check_range("x-mns-ret-number", limit, 1, 1000)
        now = self.clock()
        with self.db.read() as tx:
            rows = self.rows(tx, "list_queues", {"prefix": prefix, "marker": marker, "limit": limit + 1})
            more = len(rows) > limit
            rows = rows[:limit]
            infos = [
                self._info(r, (self.row(tx, "queue_counts", {"name": r["name"], "now": now}) or {}))
                if with_counts
                else self._info(r, {})
                for r in rows
            ]
        return infos, (rows[-1]["name"] if more and rows else None)

    def gauges(self, limit: int) -> list[dict[str, Any]]:
        """Per queue (the first ``limit`` by name): messages ``visible``, ``inflight`` and ``delayed``, and
        ``oldest_ms``, the enqueue time of its oldest unexpired message (None when it is empty)."""
        with self.db.read() as tx:
            return self.rows(tx, "queue_gauges", {"now": self.clock(), "limit": limit})

    # --- sending ---------------------------------------------------------------------------------------

    def _queue_row(self, tx: Tx, name: str) -> dict[str, Any]:
        row = self.row(tx, "get_queue", {"name": name})
        if row is None:
            raise QueueNotExist()
        return row

    def _insert(self, tx: Tx, q: dict[str, Any], m: MessageRequest, now: int) -> SendResult:
        check_message_text(m)
        size = len(m.body.encode("utf-8"))
        if size > int(q["maximum_message_size"]):
            raise InvalidQueueArgument(
                f"The message body is {size} bytes, more than the queue's MaximumMessageSize "
                f"{q['maximum_message_size']}."
            )
        delay = int(q["delay_seconds"]) if m.delay_seconds is None else m.delay_seconds
        priority = DEFAULT_PRIORITY if m.priority is None else m.priority
        check_range("DelaySeconds", delay, 0, 604800)
        check_range("Priority", priority, 1, 16)
        mid, md5 = new_message_id(), body_md5(m.body)
        params = {
            "queue": q["name"],
            "message_id": mid,
            "body": m.body,
            "body_md5": md5,
            "priority": priority,
            "enqueue_ms": now,
            "visible_ms": now + delay * 1000,
            "expire_ms": now + int(q["message_retention_period"]) * 1000,
            "props": encode_props(m.message_group_id, m.user_properties, m.system_properties),
        }
        self.count(tx, "insert_message", params)
        return SendResult(message_id=mid, body_md5=md5)

    def send(self, queue: str, messages: Sequence[MessageRequest]) -> list[SendResult | EntryError]:
        """Send 1 to 16 messages in one transaction; an invalid entry fails alone (batch partial failure).

        Raises:
            QueueNotExist: no such queue.
            InvalidQueueArgument: no message, more than 16, or more than 64 KiB of bodies in all.
            XmlUnsafeText: a text of a message holds a character XML 1.0 cannot carry (nothing is sent).
        """
        if not 1 <= len(messages) <= MAX_BATCH:
            raise InvalidQueueArgument(f"A batch holds 1 to {MAX_BATCH} messages.")
        if len(messages) > 1 and sum(len(m.body.encode("utf-8")) for m in messages) > MAX_BATCH_BYTES:
            raise InvalidQueueArgument(f"The messages of a batch may hold at most {MAX_BATCH_BYTES} bytes in all.")
        now = self.clock()
        out: list[SendResult | EntryError] = []
        with self.db.write() as tx:
            q = self._queue_row(tx, queue)
            for m in messages:
                try:
                    out.append(self._insert(tx, q, m, now))
                except InvalidQueueArgument as e:
                    out.append(EntryError(code=e.code, message=e.message))
            tx.notify(queue_channel(queue))
        return out

    def send_message(
        self, queue_name: str, body: str, priority: int | None = None, delay_s: int | None = None
    ) -> tuple[str, str]:
        """Send one message (the workflow runtime's entry point).

        Returns:
            ``(message_id, body_md5)``.

        Raises:
            QueueNotExist, InvalidQueueArgument: as :meth:`send_message_in`.
        """
        with self.db.write() as tx:
            return self.send_message_in(tx, queue_name, body, priority, delay_s)

    def send_message_in(
        self, tx: Tx, queue_name: str, body: str, priority: int | None = None, delay_s: int | None = None
    ) -> tuple[str, str]:
        """Send one message inside the caller's write transaction on the same database.

        The message commits (and waiting receivers are woken) only if the caller's transaction commits,
        so a workflow transition and the message it sends are one atomic step.

        Raises:
            QueueNotExist: no such queue.
            InvalidQueueArgument: body too large, priority or delay out of range.
            XmlUnsafeText: the body holds a character XML 1.0 cannot carry (``MalformedXML``).
        """
        q = self._queue_row(tx, queue_name)
        r = self._insert(tx, q, MessageRequest(body=body, priority=priority, delay_seconds=delay_s), self.clock())
        tx.notify(queue_channel(queue_name))
        return r.message_id, r.body_md5

    # --- receiving -------------------------------------------------------------------------------------

    def receive(
        self, queue: str, n: int = 1, wait_s: int | None = None, *, started: float | None = None
    ) -> list[MessageView]:
        """Receive up to ``n`` messages, long-polling up to ``wait_s`` seconds (queue default if None).

        Returns the moment at least one message is available: each is invisible for the queue's
        VisibilityTimeout and carries a new receipt handle. A claimed message that cannot be rendered is
        quarantined (moved out of the queue with the reason, one log line) and the others are returned.

        Args:
            started: when the request arrived (``time.monotonic()``); the wait counts from then, so time
                spent queued for a long-poll slot counts against it. Default: now.

        Raises:
            QueueNotExist: no such queue.
            MessageNotExist: nothing became available before the wait ended.
            InvalidQueueArgument: ``n`` not in 1..16 or ``wait_s`` not in 0..30.
        """
        check_range("numOfMessages", n, 1, MAX_BATCH)
        if wait_s is not None:
            check_range("waitseconds", wait_s, 0, MAX_WAIT_S)
        channel = queue_channel(queue)
        deadline: float | None = None
        while True:
            since = self.db.notifier.seq()
            now = self.clock()
            with self.db.write() as tx:
                q = self._queue_row(tx, queue)
                until = now + int(q["visibility_timeout"]) * 1000
                rows = self.rows(tx, "claim_messages", {"queue": queue, "now": now, "until": until, "n": n})
                views, bad = self._sort_out(tx, queue, rows, True, now)
                nxt = None if rows else self.row(tx, "next_visible", {"queue": queue, "now": now})
            self._log_quarantined(queue, bad)
            if views:
                return views
            if deadline is None:
                wait = int(q["polling_wait_seconds"]) if wait_s is None else wait_s
                deadline = (time.monotonic() if started is None else started) + wait
            if bad:
                continue  # every claimed row was set aside: claim again at once (each round removes one)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MessageNotExist()
            pause = min(remaining, RECHECK_S)
            if nxt is not None and nxt["next_ms"] is not None:
                pause = min(pause, max(0.0, (int(nxt["next_ms"]) - now) / 1000))
            self.db.notifier.wait(channel, pause, since=since)

    def _sort_out(
        self, tx: Tx, queue: str, rows: list[dict[str, Any]], with_handle: bool, now: int
    ) -> tuple[list[MessageView], list[tuple[str, str]]]:
        """Split rows into their views and quarantine (in ``tx``) those that cannot be rendered.

        Returns the views in (priority, id) order and ``(message id, reason)`` of each row set aside.
        """
        rows = sorted(rows, key=lambda r: (int(r["priority"]), int(r["id"])))
        views: list[MessageView] = []
        bad: list[tuple[str, str]] = []
        for r in rows:
            checked = _checked_view(r, with_handle)
            if isinstance(checked, MessageView):
                views.append(checked)
                continue
            params = {"id": r["id"], "queue": queue, "now": now, "reason": checked[:500]}
            self.count(tx, "quarantine_message", params)
            self.count(tx, "drop_message", params)
            bad.append((str(r["message_id"])[:64], checked))
        return views, bad

    @staticmethod
    def _log_quarantined(queue: str, bad: list[tuple[str, str]]) -> None:
        for message_id, reason in bad:
            log.warning("queue %s: message %s quarantined: %s", queue, message_id, reason)

    def receivers_waiting(self, queue: str) -> int:
        """How many long polls of this server process are parked on ``queue`` now."""
        return self.db.notifier.waiters(queue_channel(queue))

    def peek(self, queue: str, n: int = 1) -> list[MessageView]:
        """Return up to ``n`` active messages without changing them.

        A message that cannot be rendered is quarantined (as by :meth:`receive`) and left out.

        Raises:
            QueueNotExist: no such queue.
            MessageNotExist: the queue has no active message.
        """
        check_range("numOfMessages", n, 1, MAX_BATCH)
        views: list[MessageView] = []
        for _ in range(MAX_PEEK_ROUNDS):
            now = self.clock()
            with self.db.read() as tx:
                self._queue_row(tx, queue)
                rows = self.rows(tx, "peek_messages", {"queue": queue, "now": now, "n": n})
            checked = [_checked_view(r, False) for r in rows]
            views = [v for v in checked if isinstance(v, MessageView)]
            if len(views) == len(rows):
                break
            # Rarely: a row that cannot be rendered. Set it aside in a write transaction and look again.
            with self.db.write() as tx:
                bad_rows = [r for r, v in zip(rows, checked, strict=True) if not isinstance(v, MessageView)]
                _, bad = self._sort_out(tx, queue, bad_rows, False, now)
            self._log_quarantined(queue, bad)
        if not views:
            raise MessageNotExist()
        return views

    def quarantined(self, queue: str, limit: int = MAX_QUARANTINE_LIST) -> tuple[int, list[QuarantinedMessage]]:
        """Return how many messages of ``queue`` are quarantined and the oldest ``limit`` of them.

        Raises:
            QueueNotExist: no such queue.
        """
        limit = check_range("limit", limit, 1, MAX_QUARANTINE_LIST)
        now = self.clock()
        with self.db.read() as tx:
            self._queue_row(tx, queue)
            count = self.row(tx, "count_quarantined", {"queue": queue, "now": now}) or {}
            rows = self.rows(tx, "list_quarantined", {"queue": queue, "now": now, "limit": limit})
        items = [
            QuarantinedMessage(
                id=int(r["id"]),
                message_id=str(r["message_id"]),
                priority=int(r["priority"]),
                enqueue_time=int(r["enqueue_ms"]),
                dequeue_count=int(r["dequeue_count"]),
                quarantine_time=int(r["quarantined_ms"]),
                reason=str(r["reason"]),
            )
            for r in rows
        ]
        return int(count.get("n") or 0), items

    def delete_quarantined(self, queue: str, quarantine_id: int) -> None:
        """Delete one quarantined message for good.

        Raises:
            QueueNotExist: no such queue.
            MessageNotExist: no such quarantined message in this queue.
        """
        with self.db.write() as tx:
            self._queue_row(tx, queue)
            if self.row(tx, "delete_quarantined", {"id": quarantine_id, "queue": queue}) is None:
                raise MessageNotExist(f"No quarantined message {quarantine_id} in queue {queue}.")

    # --- deleting and visibility -----------------------------------------------------------------------

    def _handle_error(self, tx: Tx, queue: str, row_id: int) -> Exception:
        if self.row(tx, "get_message", {"id": row_id, "queue": queue}) is None:
            return MessageNotExist()
        # The message is there, but the handle is not its latest, or its invisibility has ended.
        return ReceiptHandleError()

    def delete_message(self, queue: str, handle: str) -> None:
        """Delete a received message by its latest receipt handle, while it is still invisible.

        Raises:
            QueueNotExist: no such queue.
            ReceiptHandleError: malformed, superseded by a later receive, or past NextVisibleTime.
            MessageNotExist: the message is gone (deleted or expired).
        """
        errors = self.delete_messages(queue, [handle])
        if errors:
            e = errors[0]
            raise (MessageNotExist if e.code == MessageNotExist.code else ReceiptHandleError)(e.message)

    def delete_messages(self, queue: str, handles: Sequence[str]) -> list[EntryError]:
        """Delete 1 to 16 messages in one transaction; return one error per handle that failed.

        Raises:
            QueueNotExist: no such queue.
            InvalidQueueArgument: no handle or more than 16.
        """
        if not 1 <= len(handles) <= MAX_BATCH:
            raise InvalidQueueArgument(f"A batch holds 1 to {MAX_BATCH} receipt handles.")
        now = self.clock()
        errors: list[EntryError] = []
        with self.db.write() as tx:
            self._queue_row(tx, queue)
            for h in handles:
                try:
                    row_id, nonce = parse_handle(h)
                    params = {"id": row_id, "queue": queue, "receipt": nonce, "now": now}
                    if self.row(tx, "delete_message", params) is None:
                        raise self._handle_error(tx, queue, row_id)
                except (ReceiptHandleError, MessageNotExist) as e:
                    errors.append(EntryError(code=e.code, message=e.message, receipt_handle=h))
        return errors

    def change_visibility(self, queue: str, handle: str, timeout_s: int) -> tuple[str, int]:
        """Make a received message invisible for ``timeout_s`` more seconds from now (0: visible now).

        Returns:
            The new receipt handle (the old one stops working) and the new NextVisibleTime (ms).

        Raises:
            QueueNotExist, ReceiptHandleError, MessageNotExist: as :meth:`delete_message`.
            InvalidQueueArgument: ``timeout_s`` not in 0..43200.
        """
        check_range("VisibilityTimeout", timeout_s, 0, QUEUE_RANGES["VisibilityTimeout"][1])
        row_id, nonce = parse_handle(handle)
        now = self.clock()
        with self.db.write() as tx:
            self._queue_row(tx, queue)
            params = {"id": row_id, "queue": queue, "receipt": nonce, "now": now, "until": now + timeout_s * 1000}
            row = self.row(tx, "change_visibility", params)
            if row is None:
                raise self._handle_error(tx, queue, row_id)
            if timeout_s == 0:
                tx.notify(queue_channel(queue))
        return make_handle(row_id, row["receipt"]), int(row["visible_ms"])

    def expire(self) -> int:
        """Delete every message (quarantined ones too) past its retention period; return how many (expired
        rows are already invisible to every operation, this only reclaims space)."""
        with self.db.write() as tx:
            now = {"now": self.clock()}
            return self.count(tx, "expire_messages", now) + self.count(tx, "expire_quarantined", now)
