"""The workflow store written once over :class:`Database`: lifecycle, settings, flows and schedules.

It is made of one part per responsibility: executions (:mod:`._executions`), transitions (inbox, claims,
commits, task results: :mod:`._transitions`, writing with :mod:`._writer`), and timers, jobs and due
schedules (:mod:`._timers_jobs`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tidegate.clock import Clock, now_ms
from tidegate.store._cluster import ClusterMixin
from tidegate.store._executions import ExecutionsMixin, remove_executions
from tidegate.store._sqlbase import describe, flow_not_found, log
from tidegate.store._timers_jobs import TimersJobsMixin
from tidegate.store._transitions import TransitionsMixin
from tidegate.store.base import FLOW_DELETED, ComputeNext, DeletedFlow
from tidegate.store.database import Database, applied_versions, migrate
from tidegate.store.errors import (
    ExecutionAlreadyExists,
    FlowAlreadyExists,
    FlowNotFound,
    ScheduleAlreadyExists,
    ScheduleNotFound,
)
from tidegate.store.records import STATUS_PARAMS, ExecutionRecord, FlowRecord, Page, ScheduleRecord

_FLOW_FIELDS = frozenset({"definition", "description", "type", "role_arn"})
_SCHEDULE_FIELDS = frozenset({"cron", "payload", "enable", "description", "next_fire_ms"})


class SqlStore(ExecutionsMixin, TransitionsMixin, TimersJobsMixin, ClusterMixin):
    """A :class:`Store` over either SQL dialect; migrations are applied on open.

    ``clock`` is the store's source of "now" for every operation that takes no ``now_ms`` argument.
    """

    def __init__(self, db: Database, clock: Clock = now_ms) -> None:
        self.db = db
        self.clock = clock
        self.notifier = db.notifier
        try:
            migrate(db, now_ms=clock())
        except BaseException:
            db.close()
            raise

    # --- lifecycle -------------------------------------------------------------------------------

    def close(self) -> None:
        """Close connections and stop background threads."""
        self.db.close()

    def dump_schema(self) -> str:
        """Return a normalised text description of the schema."""
        return self.db.dump_schema()

    def applied_migrations(self) -> list[int]:
        """Return the applied migration versions."""
        return applied_versions(self.db)

    def reclaim_space(self, max_pages: int) -> int:
        """Free up to ``max_pages`` pages of an incrementally auto-vacuumed SQLite file; return how many."""
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        if self.db.dialect != "sqlite":
            return 0  # PostgreSQL's autovacuum makes removed rows' space reusable
        with self.db.write() as tx:
            if int(tx.raw("PRAGMA auto_vacuum")[0]["auto_vacuum"]) != 2:  # not INCREMENTAL: nothing to give
                return 0
            before = int(tx.raw("PRAGMA freelist_count")[0]["freelist_count"])
            # Python's sqlite3 steps a statement without result columns once, and each step of this pragma
            # frees one page: one statement per page.
            for _ in range(min(before, max_pages)):
                tx.raw_count("PRAGMA incremental_vacuum(1)")
            after = int(tx.raw("PRAGMA freelist_count")[0]["freelist_count"])
        return before - after

    # --- settings --------------------------------------------------------------------------------

    def get_setting(self, key: str) -> str | None:
        """Return the setting's value, or None."""
        with self.db.read() as tx:
            row = tx.one("get_setting", {"key": key})
        return None if row is None else str(row["value"])

    def put_setting_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` unless the key exists; return the value that won."""
        with self.db.write() as tx:
            tx.run("insert_setting_if_absent", {"key": key, "value": value})
            row = tx.one("get_setting", {"key": key})
        assert row is not None
        return str(row["value"])

    def replace_setting(self, key: str, value: str) -> None:
        """Store ``value`` under ``key``, replacing what was there."""
        with self.db.write() as tx:
            tx.run("replace_setting", {"key": key, "value": value})

    # --- flows -----------------------------------------------------------------------------------

    def create_flow(self, flow: FlowRecord) -> FlowRecord:
        """Insert a flow. Raises FlowAlreadyExists."""
        params = {
            "name": flow.name,
            "id": flow.id,
            "definition": flow.definition,
            "description": flow.description,
            "type": flow.type,
            "role_arn": flow.role_arn,
            "created_ms": flow.created_ms,
            "modified_ms": flow.modified_ms,
        }
        with self.db.write() as tx:
            row = tx.one("insert_flow", params)
        if row is None:
            raise FlowAlreadyExists(f"Flow {flow.name} already exists.")
        return FlowRecord.from_row(row)

    def update_flow(self, name: str, *, modified_ms: int, **changes: Any) -> FlowRecord:
        """Change ``definition``/``description``/``type``/``role_arn``. Raises FlowNotFound."""
        unknown = set(changes) - _FLOW_FIELDS
        if unknown:
            raise TypeError(f"update_flow got unknown fields {sorted(unknown)}")
        params = {f: changes.get(f) for f in _FLOW_FIELDS} | {"name": name, "modified_ms": modified_ms}
        with self.db.write() as tx:
            row = tx.one("update_flow", params)
        if row is None:
            raise flow_not_found(name)
        return FlowRecord.from_row(row)

    def get_flow(self, name: str) -> FlowRecord:
        """Return the flow. Raises FlowNotFound."""
        with self.db.read() as tx:
            row = tx.one("get_flow", {"name": name})
        if row is None:
            raise flow_not_found(name)
        return FlowRecord.from_row(row)

    def list_flows(self, limit: int = 60, next_token: str | None = None) -> Page[FlowRecord]:
        """List flows by name; the token is the last name of the previous page."""
        with self.db.read() as tx:
            rows = tx.all("list_flows", {"after": next_token, "limit": limit + 1})
        items = [FlowRecord.from_row(r) for r in rows[:limit]]
        return Page(items=items, next_token=items[-1].name if len(rows) > limit else None)

    def delete_flow(self, name: str) -> DeletedFlow:
        """Delete a flow and its schedules, stop its running executions. Raises FlowNotFound."""
        now = self.clock()
        with self.db.write() as tx:
            row = tx.one("delete_flow", {"name": name})
            if row is None:
                raise flow_not_found(name)
            flow_id = str(row["id"])
            tx.run("delete_flow_schedules", {"name": name})
            params = {**STATUS_PARAMS, "flow_id": flow_id, "now": now}
            for query in ("stop_deleted_flow_tasks", "stop_deleted_flow_inbox", "stop_deleted_flow_timers"):
                tx.run(query, params)
            tx.run("stop_deleted_flow_jobs", {**STATUS_PARAMS, "flow_id": flow_id})
            cause = f"Flow {name} was deleted."
            stopped = tx.all("stop_deleted_flow_executions", params | {"error": FLOW_DELETED, "cause": cause})
        tokens = tuple(str(r["callback_token"]) for r in stopped if r["callback_token"])
        return DeletedFlow(id=flow_id, parent_tokens=tokens)

    def purge_flow_executions(self, flow_id: str, limit: int) -> int:
        """Remove up to ``limit`` executions of a deleted flow and all their rows; return how many."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self.db.write() as tx:
            ids = [int(r["id"]) for r in tx.all("purge_batch", {"flow_id": flow_id, "limit": limit})]
            remove_executions(tx, ids)
        return len(ids)

    def deleted_flow_ids(self, limit: int = 100) -> list[str]:
        """Ids of deleted flows that still have executions."""
        with self.db.read() as tx:
            return [str(r["flow_id"]) for r in tx.all("deleted_flow_ids", {"limit": limit})]

    # --- schedules -------------------------------------------------------------------------------

    def create_schedule(self, schedule: ScheduleRecord) -> ScheduleRecord:
        """Insert a schedule. Raises FlowNotFound, ScheduleAlreadyExists."""
        params = {
            "flow_name": schedule.flow_name,
            "name": schedule.name,
            "id": schedule.id,
            "cron": schedule.cron,
            "payload": schedule.payload,
            "enable": schedule.enable,
            "description": schedule.description,
            "created_ms": schedule.created_ms,
            "modified_ms": schedule.modified_ms,
            "next_fire_ms": schedule.next_fire_ms,
        }
        with self.db.write() as tx:
            if tx.one("get_flow", {"name": schedule.flow_name}) is None:
                raise flow_not_found(schedule.flow_name)
            row = tx.one("insert_schedule", params)
        if row is None:
            raise ScheduleAlreadyExists(f"Schedule {schedule.name} already exists.")
        return ScheduleRecord.from_row(row)

    def update_schedule(self, flow_name: str, name: str, *, modified_ms: int, **changes: Any) -> ScheduleRecord:
        """Change ``cron``/``payload``/``enable``/``description``/``next_fire_ms``."""
        unknown = set(changes) - _SCHEDULE_FIELDS
        if unknown:
            raise TypeError(f"update_schedule got unknown fields {sorted(unknown)}")
        params = {f: changes.get(f) for f in _SCHEDULE_FIELDS} | {
            "flow_name": flow_name,
            "name": name,
            "modified_ms": modified_ms,
            "set_next": "next_fire_ms" in changes,
        }
        with self.db.write() as tx:
            row = tx.one("update_schedule", params)
        if row is None:
            raise _schedule_not_found(flow_name, name)
        return ScheduleRecord.from_row(row)

    def delete_schedule(self, flow_name: str, name: str) -> None:
        """Delete a schedule. Raises ScheduleNotFound."""
        with self.db.write() as tx:
            if tx.one("delete_schedule", {"flow_name": flow_name, "name": name}) is None:
                raise _schedule_not_found(flow_name, name)

    def get_schedule(self, flow_name: str, name: str) -> ScheduleRecord:
        """Return a schedule. Raises ScheduleNotFound."""
        with self.db.read() as tx:
            row = tx.one("get_schedule", {"flow_name": flow_name, "name": name})
        if row is None:
            raise _schedule_not_found(flow_name, name)
        return ScheduleRecord.from_row(row)

    def list_schedules(self, flow_name: str, limit: int = 100, next_token: str | None = None) -> Page[ScheduleRecord]:
        """List a flow's schedules by name; the token is the last name of the previous page."""
        with self.db.read() as tx:
            rows = tx.all("list_schedules", {"flow_name": flow_name, "after": next_token, "limit": limit + 1})
        items = [ScheduleRecord.from_row(r) for r in rows[:limit]]
        return Page(items=items, next_token=items[-1].name if len(rows) > limit else None)

    def fire_due_schedules(
        self,
        now_ms: int,
        compute_next: ComputeNext,
        name_of: Callable[[ScheduleRecord, int], str],
        start_event: Mapping[str, Any],
        limit: int = 100,
    ) -> list[ExecutionRecord]:
        """Start one execution per due schedule and advance it, in ONE transaction (exactly once per tick).

        The execution is named ``name_of(schedule, due_ms)`` with the schedule's payload as input; a tick
        whose execution exists already (another process fired it) starts nothing more.
        """
        started: list[ExecutionRecord] = []
        with self.db.write() as tx:
            for schedule, due in self._advance_due_schedules(tx, now_ms, compute_next, limit):
                # A savepoint per schedule: one whose execution cannot be created (a failing write leaves a
                # PostgreSQL transaction aborted) must not undo the others' ticks or block them for ever.
                tx.raw_count("SAVEPOINT fire_schedule")
                try:
                    record = ExecutionRecord(
                        flow_name=schedule.flow_name,
                        name=name_of(schedule, due),
                        definition="",
                        input=schedule.payload or "{}",
                        started_ms=now_ms,
                    )
                    created, new = self._insert_execution(tx, record, start_event)
                except (ExecutionAlreadyExists, FlowNotFound):
                    new = False
                except Exception as exc:  # skipped for this tick, which is spent: it fires at its next one
                    tx.raw_count("ROLLBACK TO SAVEPOINT fire_schedule")
                    log.error(
                        "schedule %s/%s: its execution for the tick at %d could not start (%s); skipped",
                        *(schedule.flow_name, schedule.name, due, describe(exc)),
                    )
                    new = False
                tx.raw_count("RELEASE SAVEPOINT fire_schedule")
                if new:
                    started.append(created)
        return started


def _schedule_not_found(flow_name: str, name: str) -> ScheduleNotFound:
    return ScheduleNotFound(f"Schedule {name} of flow {flow_name} does not exist.")
