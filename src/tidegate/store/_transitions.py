"""The hot path of the workflow store: inbox, claims, group commit, timers, tasks, jobs, schedule claims.

Everything here is one transaction per call; :meth:`commit` writes a whole batch of transitions in one
transaction, which is where throughput comes from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from tidegate.clock import now_ms
from tidegate.status import TERMINAL
from tidegate.store._db import Database, Tx
from tidegate.store.base import ApplyNow, ComputeNext, Store
from tidegate.store.errors import HistoryGap, VersionConflict
from tidegate.store.notify import JOBS, WORK, execution_channel
from tidegate.store.records import (
    STATUS_PARAMS,
    ExecutionRecord,
    HistoryRow,
    InboxItem,
    JobRecord,
    ScheduleRecord,
    TaskRecord,
    TransitionWrite,
    Work,
    to_json,
)

#: The inbox id of an event applied in the transaction that produced it: it was never queued.
_NOT_QUEUED = 0
_HISTORY_COLUMNS = ("execution_id", "event_id", "schedule_event_id", "type", "step_name", "time_ms", "detail")


_now = now_ms

log = logging.getLogger("tidegate.schedules")


def _describe(exc: BaseException) -> str:
    """``Type: message`` of ``exc`` for one log line (truncated)."""
    return f"{type(exc).__name__}: {exc}"[:500]


class TransitionsMixin(Store):
    """Store operations that move executions forward."""

    db: Database

    # --- inbox and claims ------------------------------------------------------------------------

    def append_inbox(self, execution_id: int, event: Mapping[str, Any], available_ms: int | None = None) -> bool:
        """Queue an event for an execution; False (nothing written) when it has ended or is unknown."""
        params = {
            **STATUS_PARAMS,
            "execution_id": execution_id,
            "event": to_json(event),
            "available_ms": _now() if available_ms is None else available_ms,
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

    def end_execution(
        self, execution_id: int, build: Callable[[ExecutionRecord], TransitionWrite]
    ) -> ExecutionRecord | None:
        """End an active execution with the terminal write ``build`` makes of its locked row."""
        now = _now()
        with self.db.write() as tx:
            row = tx.one("lock_active_execution", {**STATUS_PARAMS, "id": execution_id})
            if row is None:
                return None
            self._commit_in(tx, [build(ExecutionRecord.from_row(row))], now)
            ended = tx.one("get_execution_by_id", {"id": execution_id})
        assert ended is not None
        return ExecutionRecord.from_row(ended)

    # --- commit ----------------------------------------------------------------------------------

    def commit(self, transitions: Sequence[TransitionWrite]) -> None:
        """Write a batch of transitions in one transaction; VersionConflict writes nothing."""
        if not transitions:
            return
        now = _now()
        # Lock rows in one global order (a stable sort keeps one execution's versions in sequence), so two
        # concurrent batches cannot deadlock on PostgreSQL.
        batch = sorted(transitions, key=lambda t: t.execution_id)
        with self.db.write() as tx:
            self._commit_in(tx, batch, now)

    def _commit_in(self, tx: Tx, batch: Sequence[TransitionWrite], now: int) -> None:
        rows = tx.each("apply_transition", [_transition_params(t) for t in batch])
        for t, row in zip(batch, rows, strict=True):
            _check_applied(t, row)
        self._write_children(tx, batch, now)
        observer = self.transition_observer
        if observer is not None:
            tx.on_commit.append(partial(observer, batch))

    def _apply_now(
        self,
        tx: Tx,
        execution_id: int,
        apply: ApplyNow,
        now: int,
        event: Mapping[str, Any],
        fresh: dict[str, Any] | None = None,
    ) -> bool:
        """Apply an execution's due inbox items, then ``event``, and commit the transition in ``tx``.

        ``event`` has not been queued: it is applied here or, when this returns False (nothing written),
        the caller queues it. The execution row is locked (PostgreSQL ``FOR UPDATE``; SQLite's write
        transaction holds the whole database) and skipped while a driver's lease on it runs, so only one
        applier ever works on it. ``fresh`` is the row of an execution inserted in ``tx`` (no lease, no inbox).
        """
        row, queued = fresh, []
        if row is None:
            row = tx.one("lock_execution_to_apply", {**STATUS_PARAMS, "id": execution_id, "now": now})
            if row is None:
                return False
            queued = tx.all("claimed_inbox", {"ids": tx.array([execution_id]), "now": now})
        record, unreadable = ExecutionRecord.from_row_readable(row)
        try:
            items = [InboxItem.from_row(i) for i in queued]
        except (ValueError, TypeError):
            unreadable = "a queued event is not JSON"
        if unreadable:
            return False  # the driver's bounded retries deal with it
        items.append(InboxItem(id=_NOT_QUEUED, execution_id=execution_id, event=dict(event)))
        write = apply(Work(execution=record, inbox=tuple(items)))
        if write is None:
            return False
        write = replace(write, consumed_inbox=[i for i in write.consumed_inbox if i != _NOT_QUEUED])
        self._commit_in(tx, [write], now)
        return True

    def _write_children(self, tx: Tx, batch: Sequence[TransitionWrite], now: int) -> None:
        # Rows of the whole batch go in one executemany per table: far fewer round trips than per row.
        tx.insert_rows(
            "history",
            _HISTORY_COLUMNS,
            [
                (
                    t.execution_id,
                    e.event_id,
                    e.schedule_event_id,
                    e.type,
                    e.step_name,
                    e.time_ms,
                    to_json(e.detail),
                )
                for t in batch
                for e in t.events
            ],
        )
        tx.many(
            "delete_inbox_item",
            ({"id": i, "execution_id": t.execution_id} for t in batch for i in t.consumed_inbox),
        )
        tx.many(
            "delete_timer",
            ({"execution_id": t.execution_id, "timer_key": k} for t in batch for k in t.timers_cancel),
        )
        timers = [
            {
                "execution_id": t.execution_id,
                "timer_key": w.key,
                "fire_at_ms": w.fire_at_ms,
                "event": to_json(w.event),
            }
            for t in batch
            for w in t.timers_add
        ]
        tx.many("upsert_timer", timers)
        tx.many(
            "open_task",
            (
                {**STATUS_PARAMS, "execution_id": t.execution_id, "task_key": k, "now": now}
                for t in batch
                for k in t.tasks_open
            ),
        )
        tx.many(
            "cancel_task",
            (
                {**STATUS_PARAMS, "execution_id": t.execution_id, "task_key": k, "now": now}
                for t in batch
                for k in t.tasks_cancel
            ),
        )
        jobs = [
            {
                "kind": j.kind,
                "payload": to_json(j.payload),
                "execution_id": t.execution_id,
                "task_key": j.task_key,
                "available_ms": j.available_ms,
                "now": now,
            }
            for t in batch
            for j in t.jobs
        ]
        tx.many("insert_job", jobs)
        delivered = False
        for t in batch:
            for d in t.deliveries:
                params = {
                    **STATUS_PARAMS,
                    "execution_id": d.execution_id,
                    "event": to_json(d.event),
                    "available_ms": now,
                }
                delivered |= tx.one("insert_inbox_if_active", params) is not None
            for c in t.task_completions:
                delivered |= self._close_task(tx, c.execution_id, c.task_key, c.event, now)
            for effect in t.effects:
                outcome = effect(tx)
                if outcome is None:
                    continue
                if outcome.complete_task is not None:
                    delivered |= self._close_task(tx, t.execution_id, outcome.complete_task, outcome.event, now)
                else:
                    params = {
                        **STATUS_PARAMS,
                        "execution_id": t.execution_id,
                        "event": to_json(outcome.event),
                        "available_ms": now,
                    }
                    delivered |= tx.one("insert_inbox_if_active", params) is not None
        ended = [t.execution_id for t in batch if t.status in TERMINAL]
        # An ended execution keeps no open task, timer or pending event: late results are refused.
        tx.many("cancel_open_tasks_of", ({**STATUS_PARAMS, "execution_id": i, "now": now} for i in ended))
        tx.many("delete_timers_of", ({"execution_id": i} for i in ended))
        tx.many("delete_inbox_of", ({"execution_id": i} for i in ended))
        for i in ended:
            tx.notify(execution_channel(i))
        if timers or delivered:
            tx.notify(WORK)
        if jobs:
            tx.notify(JOBS)

    def get_history(self, execution_id: int, after_event_id: int = 0, limit: int = 1000) -> list[HistoryRow]:
        """Return history events after ``after_event_id`` in id order."""
        with self.db.read() as tx:
            rows = tx.all("get_history", {"execution_id": execution_id, "after": after_event_id, "limit": limit})
        return [HistoryRow.from_row(r) for r in rows]

    # --- timers ----------------------------------------------------------------------------------

    def move_due_timers(self, now_ms: int, limit: int = 1000) -> int:
        """Move due timers' events into their executions' inboxes; return how many timers fired."""
        # A read first: the common case (nothing due) then costs no write transaction, which on SQLite
        # would queue behind (and hold up) every other writer.
        with self.db.read() as tx:
            first = tx.one("first_timer")
        if first is None or first["t"] is None or int(first["t"]) > now_ms:
            return 0
        with self.db.write() as tx:
            due = tx.all("take_due_timers", {"now": now_ms, "limit": limit})
            tx.many(
                "insert_inbox_if_active",
                (
                    {**STATUS_PARAMS, "execution_id": r["execution_id"], "event": r["event"], "available_ms": now_ms}
                    for r in due
                ),
            )
            if due:
                tx.notify(WORK)
        return len(due)

    def next_timer_ms(self) -> int | None:
        """Return the earliest time a timer fires or pending work becomes claimable, or None."""
        with self.db.read() as tx:
            row = tx.one("next_due", STATUS_PARAMS)
        return None if row is None or row["t"] is None else int(row["t"])

    # --- tasks -----------------------------------------------------------------------------------

    def _close_task(
        self,
        tx: Tx,
        execution_id: int,
        task_key: str,
        event: Mapping[str, Any],
        now: int,
        apply: ApplyNow | None = None,
    ) -> bool:
        closed = tx.one("close_task", {**STATUS_PARAMS, "execution_id": execution_id, "task_key": task_key, "now": now})
        if closed is None:
            return False
        if apply is None or not self._apply_now(tx, execution_id, apply, now, event):
            tx.run("insert_inbox", {"execution_id": execution_id, "event": to_json(event), "available_ms": now})
            tx.notify(WORK)
        return True

    def complete_task(
        self, execution_id: int, task_key: str, event: Mapping[str, Any], apply: ApplyNow | None = None
    ) -> bool:
        """If the task is open, mark it done and queue ``event`` (applied at once with ``apply``); else False."""
        with self.db.write() as tx:
            return self._close_task(tx, execution_id, task_key, event, _now(), apply)

    def get_task(self, execution_id: int, task_key: str) -> TaskRecord | None:
        """Return the task record, or None."""
        with self.db.read() as tx:
            row = tx.one("get_task", {"execution_id": execution_id, "task_key": task_key})
        return None if row is None else TaskRecord.from_row(row)

    # --- jobs ------------------------------------------------------------------------------------

    def claim_jobs(self, owner: str, kinds: Sequence[str], limit: int, lease_ms: int, now_ms: int) -> list[JobRecord]:
        """Lease due jobs of the given kinds, oldest due first."""
        with self.db.write() as tx:
            rows = tx.all(
                "claim_jobs",
                {
                    "owner": owner,
                    "until": now_ms + lease_ms,
                    "now": now_ms,
                    "kinds": tx.array(list(kinds)),
                    "limit": limit,
                },
            )
        return sorted((JobRecord.from_row(r) for r in rows), key=lambda j: (j.available_ms, j.id))

    def finish_job(
        self, job_id: int, result_event: Mapping[str, Any] | None = None, apply: ApplyNow | None = None
    ) -> bool:
        """Delete the job and complete its still-open task with ``result_event`` (applied at once with ``apply``)."""
        with self.db.write() as tx:
            row = tx.one("delete_job", {"id": job_id})
            if row is None or row["task_key"] is None or result_event is None:
                return False
            return self._close_task(tx, row["execution_id"], row["task_key"], result_event, _now(), apply)

    def renew_jobs(self, owner: str, lease_ms: int, now_ms: int) -> int:
        """Extend every unexpired job lease ``owner`` holds to ``now_ms + lease_ms``."""
        with self.db.write() as tx:
            return tx.run("renew_jobs", {"owner": owner, "until": now_ms + lease_ms, "now": now_ms})

    def retry_job(self, job_id: int, available_ms: int, error: str | None = None) -> None:
        """Release the job's lease and make it due again at ``available_ms``."""
        with self.db.write() as tx:
            tx.run("retry_job", {"id": job_id, "available_ms": available_ms, "error": error})
            tx.notify(JOBS)

    def next_job_ms(self, kinds: Sequence[str]) -> int | None:
        """Return the earliest time a job of these kinds becomes claimable, or None."""
        with self.db.read() as tx:
            row = tx.one("next_job", {"kinds": tx.array(list(kinds))})
        return None if row is None or row["t"] is None else int(row["t"])

    # --- schedules -------------------------------------------------------------------------------

    def claim_due_schedules(
        self, now_ms: int, compute_next: ComputeNext, limit: int = 100
    ) -> list[tuple[ScheduleRecord, int]]:
        """Return due schedules with their due time, advancing ``next_fire_ms`` in the same transaction."""
        with self.db.write() as tx:
            return self._advance_due_schedules(tx, now_ms, compute_next, limit)

    @staticmethod
    def _advance_due_schedules(
        tx: Tx, now_ms: int, compute_next: ComputeNext, limit: int
    ) -> list[tuple[ScheduleRecord, int]]:
        """Advance each due schedule to ``compute_next(schedule, now_ms)``; return them with their due time."""
        fired: list[tuple[ScheduleRecord, int]] = []
        for row in tx.all("due_schedules", {"now": now_ms, "limit": limit}):
            record = ScheduleRecord.from_row(row)
            try:
                nxt = compute_next(record, now_ms)
            except Exception as exc:  # a stored expression that no longer parses: stop it, once, loudly
                log.error(
                    "schedule %s/%s: its expression %r cannot be evaluated (%s); it fires again once updated",
                    *(record.flow_name, record.name, record.cron[:100], _describe(exc)),
                )
                tx.run("advance_schedule", {"flow_name": record.flow_name, "name": record.name, "next_fire_ms": None})
                continue
            tx.run("advance_schedule", {"flow_name": record.flow_name, "name": record.name, "next_fire_ms": nxt})
            assert record.next_fire_ms is not None
            fired.append((record, record.next_fire_ms))
        return fired


def _transition_params(t: TransitionWrite) -> dict[str, Any]:
    return {
        "id": t.execution_id,
        "expected_version": t.expected_version,
        "state": None if t.state is None else to_json(t.state),
        "status": t.status,
        "output": t.output,
        "error": t.error,
        "cause": t.cause,
        "stopped_ms": t.stopped_ms,
        "n_events": len(t.events),
    }


def _check_applied(t: TransitionWrite, row: dict[str, Any] | None) -> None:
    if row is None:
        raise VersionConflict(t.execution_id, t.expected_version)
    last = int(row["event_count"])
    expected = list(range(last - len(t.events) + 1, last + 1))
    if [e.event_id for e in t.events] != expected:
        raise HistoryGap(
            f"execution {t.execution_id}: event ids {[e.event_id for e in t.events]} "
            f"do not continue the history (expected {expected})"
        )
