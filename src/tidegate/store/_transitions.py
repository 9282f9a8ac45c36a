"""Store operations that move executions forward: the inbox, claims and leases, commits, task results.

:meth:`commit` writes a whole batch of transitions in one transaction (where throughput comes from) with
the transition writer of :mod:`._writer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tidegate.store._sqlbase import SqlBase
from tidegate.store._writer import close_task, write_transitions
from tidegate.store.base import ApplyNow
from tidegate.store.notify import WORK
from tidegate.store.records import STATUS_PARAMS, ExecutionRecord, InboxItem, TransitionWrite, Work, to_json


class TransitionsMixin(SqlBase):
    """Inbox, claims, commits, ending executions and completing tasks."""

    def append_inbox(self, execution_id: int, event: Mapping[str, Any], available_ms: int | None = None) -> bool:
        """Queue an event for an execution; False (nothing written) when it has ended or is unknown."""
        params = {
            **STATUS_PARAMS,
            "execution_id": execution_id,
            "event": to_json(event),
            "available_ms": self.clock() if available_ms is None else available_ms,
        }
        with self.db.write() as tx:
            added = tx.one("insert_inbox_if_active", params) is not None
            if added:
                tx.notify(WORK)
        return added

    def claim_work(self, owner: str, limit: int, lease_ms: int, now_ms: int) -> list[Work]:
        """Lease up to ``limit`` running executions that have due inbox items."""
        with self.db.write() as tx:
            rows = tx.all(
                "claim_executions",
                {**STATUS_PARAMS, "owner": owner, "until": now_ms + lease_ms, "now": now_ms, "limit": limit},
            )
            if not rows:
                return []
            ids = sorted(r["id"] for r in rows)
            items = tx.all("claimed_inbox", {"ids": tx.array(ids), "now": now_ms})
        by_exec: dict[int, list[InboxItem]] = {i: [] for i in ids}
        # A row that cannot be read is handed over as such (the driver's bounded retries end it): raising
        # here would stall every execution of the batch, again and again.
        unreadable: dict[int, str] = {}
        for item in items:
            try:
                by_exec[item["execution_id"]].append(InboxItem.from_row(item))
            except (ValueError, TypeError) as exc:
                unreadable[item["execution_id"]] = f"its queued event {item['id']} is not JSON ({exc})"
        works = []
        for row in rows:
            rec, why = ExecutionRecord.from_row_readable(row)
            works.append(Work(execution=rec, inbox=tuple(by_exec[rec.id]), unreadable=why or unreadable.get(rec.id)))
        return sorted(works, key=lambda w: w.execution.id)

    def release(self, execution_ids: Sequence[int], owner: str) -> None:
        """Give back leases held by ``owner``; pending work wakes the claimers again."""
        with self.db.write() as tx:
            tx.many("release_execution", ({"id": i, "owner": owner} for i in execution_ids))
            tx.notify(WORK)

    def defer(self, execution_id: int, owner: str, until_ms: int) -> int | None:
        """Count a failed attempt at applying and keep the execution unclaimed until ``until_ms``."""
        with self.db.write() as tx:
            row = tx.one("defer_execution", {**STATUS_PARAMS, "id": execution_id, "owner": owner, "until": until_ms})
            tx.notify(WORK)  # idle drivers recompute their wake-up time (the next attempt)
        return None if row is None else int(row["apply_failures"])

    def commit(self, transitions: Sequence[TransitionWrite]) -> None:
        """Write a batch of transitions in one transaction; any error writes nothing of the batch."""
        if not transitions:
            return
        now = self.clock()
        # Lock rows in one global order (a stable sort keeps one execution's versions in sequence), so two
        # concurrent batches cannot deadlock on PostgreSQL.
        batch = sorted(transitions, key=lambda t: t.execution_id)
        with self.db.write() as tx:
            write_transitions(tx, batch, now, self.transition_observer)

    def end_execution(
        self, execution_id: int, build: Callable[[ExecutionRecord], TransitionWrite]
    ) -> ExecutionRecord | None:
        """End an active execution with the terminal write ``build`` makes of its locked row."""
        now = self.clock()
        with self.db.write() as tx:
            row = tx.one("lock_active_execution", {**STATUS_PARAMS, "id": execution_id})
            if row is None:
                return None
            write_transitions(tx, [build(ExecutionRecord.from_row(row))], now, self.transition_observer)
            ended = tx.one("get_execution_by_id", {"id": execution_id})
        assert ended is not None
        return ExecutionRecord.from_row(ended)

    def complete_task(
        self, execution_id: int, task_key: str, event: Mapping[str, Any], apply: ApplyNow | None = None
    ) -> bool:
        """If the task is open, mark it done and queue ``event`` (applied at once with ``apply``); else False."""
        now = self.clock()
        with self.db.write() as tx:
            return close_task(tx, execution_id, task_key, event, now, apply, self.transition_observer)
