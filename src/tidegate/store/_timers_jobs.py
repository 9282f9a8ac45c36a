"""Store operations driven by time: due timers, jobs for executors and their leases, due schedules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.store._sqlbase import SqlBase, describe, log
from tidegate.store._writer import close_task
from tidegate.store.base import ApplyNow, ComputeNext
from tidegate.store.database import Tx
from tidegate.store.errors import InvalidPageToken
from tidegate.store.notify import JOBS, WORK
from tidegate.store.records import STATUS_PARAMS, JobRecord, Page, ScheduleRecord, TaskRecord, WaitingTask

#: The pattern of the tasks that wait on a callback (the flow language's ``waitForCallback``).
CALLBACK_PATTERN = "waitForCallback"
_MAX_KEY = 200


def _waiting_after(token: str) -> tuple[int, int, str]:
    """The page key of a waiting-tasks token ``created_ms:execution_id:task_key``; InvalidPageToken else."""
    parts = token.split(":", 2)
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or not 0 < len(parts[2]) <= _MAX_KEY:
        raise InvalidPageToken(f"The NextToken {token[:40]!r} is invalid.")
    created, execution = int(parts[0]), int(parts[1])
    if created >= 2**62 or execution >= 2**62 or not parts[2].isascii():
        raise InvalidPageToken(f"The NextToken {token[:40]!r} is invalid.")
    return created, execution, parts[2]


class TimersJobsMixin(SqlBase):
    """Timers, tasks' records, jobs, and claiming due schedules."""

    # --- timers ----------------------------------------------------------------------------------

    def move_due_timers(self, now_ms: int, limit: int = 1000) -> int:
        """Move due timers' events into their executions' inboxes; return how many timers fired.

        A timer that ends a task (its timeout or heartbeat timer) closes that task in the same transaction,
        so a report or heartbeat arriving after the move is refused.
        """
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
            tx.many(
                "cancel_fired_task",
                (
                    {**STATUS_PARAMS, "execution_id": r["execution_id"], "task_key": r["task_key"], "now": now_ms}
                    for r in due
                    if r["task_key"] is not None
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

    def count_tasks_waiting(self) -> int:
        """How many open tasks have no invocation pending: they wait for a report from outside (a callback)."""
        with self.db.read() as tx:
            row = tx.one("count_tasks_waiting", STATUS_PARAMS)
        return 0 if row is None else int(row["n"])

    def get_task(self, execution_id: int, task_key: str) -> TaskRecord | None:
        """Return the task record, or None."""
        with self.db.read() as tx:
            row = tx.one("get_task", {"execution_id": execution_id, "task_key": task_key})
        return None if row is None else TaskRecord.from_row(row)

    def heartbeat_task(self, execution_id: int, task_key: str, now_ms: int) -> bool:
        """Record a heartbeat of an open task and move its heartbeat timer to ``now_ms`` plus its interval.

        Returns False (nothing changed) when the task is not open, or when its heartbeat deadline has passed
        already (the timer fired: the task is timing out).
        """
        params = {**STATUS_PARAMS, "execution_id": execution_id, "task_key": task_key, "now": now_ms}
        with self.db.write() as tx:
            row = tx.one("beat_task", params)  # the task row first, in the order a report locks rows
            if row is None:
                return False
            if row["heartbeat_ms"] is None:
                return True
            # No timer moved: it fired already and the task is timing out (its heartbeat, recorded, is moot).
            return tx.run("beat_timers", params) > 0

    def list_waiting_tasks(
        self,
        *,
        flow_name: str | None = None,
        newest_first: bool = False,
        limit: int = 100,
        next_token: str | None = None,
    ) -> Page[WaitingTask]:
        """List the open tasks that wait on a callback, oldest (or newest) first; the token is opaque."""
        after: tuple[int, int, str] | tuple[None, None, None] = (None, None, None)
        if next_token:
            after = _waiting_after(next_token)
        params = {
            **STATUS_PARAMS,
            "pattern": CALLBACK_PATTERN,
            "flow": flow_name,
            "after_ms": after[0],
            "after_id": after[1],
            "after_key": after[2],
            "limit": limit + 1,
        }
        with self.db.read() as tx:
            rows = tx.all("waiting_tasks_newest" if newest_first else "waiting_tasks_oldest", params)
        items = [WaitingTask.from_row(r) for r in rows[:limit]]
        token = None
        if len(rows) > limit:
            last = items[-1]
            token = f"{last.created_ms}:{last.execution_id}:{last.task_key}"
        return Page(items=items, next_token=token)

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
        now = self.clock()
        with self.db.write() as tx:
            row = tx.one("delete_job", {"id": job_id})
            if row is None or row["task_key"] is None or result_event is None:
                return False
            return close_task(
                tx, row["execution_id"], row["task_key"], result_event, now, apply, self.transition_observer
            )

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
                    *(record.flow_name, record.name, record.cron[:100], describe(exc)),
                )
                tx.run("advance_schedule", {"flow_name": record.flow_name, "name": record.name, "next_fire_ms": None})
                continue
            tx.run("advance_schedule", {"flow_name": record.flow_name, "name": record.name, "next_fire_ms": nxt})
            assert record.next_fire_ms is not None
            fired.append((record, record.next_fire_ms))
        return fired
