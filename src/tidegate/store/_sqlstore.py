"""The workflow store written once over :class:`Database`: settings, flows, executions, schedules.

The transition half (inbox, claims, commit, timers, tasks, jobs) lives in :mod:`._transitions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from tidegate.status import ACTIVE, ExecutionStatus
from tidegate.store._db import Database, Tx, applied_versions, migrate
from tidegate.store._transitions import TransitionsMixin, _describe, _now, log
from tidegate.store.base import EXECUTION_TABLES, FLOW_DELETED, ApplyNow, ComputeNext, DeletedFlow
from tidegate.store.errors import (
    ExecutionAlreadyExists,
    ExecutionNotFound,
    FlowAlreadyExists,
    FlowNotFound,
    InvalidPageToken,
    ScheduleAlreadyExists,
    ScheduleNotFound,
)
from tidegate.store.notify import WORK
from tidegate.store.records import (
    STATUS_PARAMS,
    ExecutionRecord,
    FlowRecord,
    Page,
    ScheduleRecord,
    to_json,
)

_FLOW_FIELDS = frozenset({"definition", "description", "type", "role_arn"})
_SCHEDULE_FIELDS = frozenset({"cron", "payload", "enable", "description", "next_fire_ms"})


class SqlStore(TransitionsMixin):
    """A :class:`Store` over either SQL dialect; migrations are applied on open."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.notifier = db.notifier
        try:
            migrate(db, now_ms=_now())
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
            raise _flow_not_found(name)
        return FlowRecord.from_row(row)

    def get_flow(self, name: str) -> FlowRecord:
        """Return the flow. Raises FlowNotFound."""
        with self.db.read() as tx:
            row = tx.one("get_flow", {"name": name})
        if row is None:
            raise _flow_not_found(name)
        return FlowRecord.from_row(row)

    def list_flows(self, limit: int = 60, next_token: str | None = None) -> Page[FlowRecord]:
        """List flows by name; the token is the last name of the previous page."""
        with self.db.read() as tx:
            rows = tx.all("list_flows", {"after": next_token, "limit": limit + 1})
        items = [FlowRecord.from_row(r) for r in rows[:limit]]
        return Page(items=items, next_token=items[-1].name if len(rows) > limit else None)

    def delete_flow(self, name: str) -> DeletedFlow:
        """Delete a flow and its schedules, stop its running executions. Raises FlowNotFound."""
        with self.db.write() as tx:
            row = tx.one("delete_flow", {"name": name})
            if row is None:
                raise _flow_not_found(name)
            flow_id = str(row["id"])
            tx.run("delete_flow_schedules", {"name": name})
            params = {**STATUS_PARAMS, "flow_id": flow_id, "now": _now()}
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
            _remove_executions(tx, ids)
        return len(ids)

    def remove_ended_executions(self, ended_before_ms: int, limit: int) -> int:
        """Remove up to ``limit`` executions that ended before ``ended_before_ms``, with all their rows."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self.db.write() as tx:
            ids = [int(r["id"]) for r in tx.all("retention_batch", {"before": ended_before_ms, "limit": limit})]
            _remove_executions(tx, ids)
        return len(ids)

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

    def deleted_flow_ids(self, limit: int = 100) -> list[str]:
        """Ids of deleted flows that still have executions."""
        with self.db.read() as tx:
            return [str(r["flow_id"]) for r in tx.all("deleted_flow_ids", {"limit": limit})]

    # --- executions ------------------------------------------------------------------------------

    def create_execution(
        self, execution: ExecutionRecord, start_event: Mapping[str, Any], apply: ApplyNow | None = None
    ) -> tuple[ExecutionRecord, bool]:
        """Insert an execution and its start event (applied at once with ``apply``); idempotent by name."""
        if execution.status not in ACTIVE:
            raise ValueError(f"a new execution must be Starting or Running, not {str(execution.status)!r}")
        with self.db.write() as tx:
            return self._insert_execution(tx, execution, start_event, apply)

    def _insert_execution(
        self, tx: Tx, execution: ExecutionRecord, start_event: Mapping[str, Any], apply: ApplyNow | None = None
    ) -> tuple[ExecutionRecord, bool]:
        flow = tx.one("get_flow", {"name": execution.flow_name})
        if flow is None:
            raise _flow_not_found(execution.flow_name)
        params = {
            "flow_id": flow["id"],
            "flow_name": execution.flow_name,
            "name": execution.name,
            "definition": execution.definition or flow["definition"],
            "input": execution.input,
            "status": execution.status,
            "started_ms": execution.started_ms,
            "callback_token": execution.callback_token,
            "parent_id": execution.parent_id,
        }
        row = tx.one("insert_execution", params)
        if row is None:
            existing = tx.one("get_execution", {"flow_id": flow["id"], "name": execution.name})
            assert existing is not None
            if existing["status"] in ACTIVE:
                return ExecutionRecord.from_row(existing), False
            raise ExecutionAlreadyExists(f"Execution {execution.name} for flow {execution.flow_name} already exists.")
        if apply is None or not self._apply_now(tx, row["id"], apply, _now(), start_event, fresh=row):
            tx.run(
                "insert_inbox",
                {"execution_id": row["id"], "event": to_json(start_event), "available_ms": execution.started_ms},
            )
            tx.notify(WORK)
        return ExecutionRecord.from_row(row), True

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
                        *(schedule.flow_name, schedule.name, due, _describe(exc)),
                    )
                    new = False
                tx.raw_count("RELEASE SAVEPOINT fire_schedule")
                if new:
                    started.append(created)
        return started

    def get_execution(self, flow_name: str, name: str) -> ExecutionRecord:
        """Return the execution. Raises FlowNotFound or ExecutionNotFound."""
        with self.db.read() as tx:
            flow = tx.one("get_flow", {"name": flow_name})
            if flow is None:
                raise _flow_not_found(flow_name)
            row = tx.one("get_execution", {"flow_id": flow["id"], "name": name})
        if row is None:
            raise ExecutionNotFound(f"Execution {name} for flow {flow_name} does not exist.")
        return ExecutionRecord.from_row(row)

    def get_execution_by_id(self, execution_id: int) -> ExecutionRecord:
        """Return the execution. Raises ExecutionNotFound."""
        with self.db.read() as tx:
            row = tx.one("get_execution_by_id", {"id": execution_id})
        if row is None:
            raise ExecutionNotFound(f"Execution {execution_id} does not exist.")
        return ExecutionRecord.from_row(row)

    def list_executions(
        self,
        flow_name: str,
        *,
        status: ExecutionStatus | None = None,
        name_prefix: str | None = None,
        started_from_ms: int | None = None,
        started_to_ms: int | None = None,
        limit: int = 60,
        next_token: str | None = None,
    ) -> Page[ExecutionRecord]:
        """List a flow's executions by start time then id; the token encodes the last (time, id)."""
        after_ms, after_id = _decode_token(next_token)
        with self.db.read() as tx:
            flow = tx.one("get_flow", {"name": flow_name})
            if flow is None:
                raise _flow_not_found(flow_name)
            rows = tx.all(
                "list_executions",
                {
                    "flow_id": flow["id"],
                    "status": status,
                    "prefix": name_prefix or None,
                    "from_ms": started_from_ms,
                    "to_ms": started_to_ms,
                    "after_ms": after_ms,
                    "after_id": after_id,
                    "limit": limit + 1,
                },
            )
        items = [ExecutionRecord.from_row(r) for r in rows[:limit]]
        token = f"{items[-1].started_ms}.{items[-1].id}" if len(rows) > limit else None
        return Page(items=items, next_token=token)

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
                raise _flow_not_found(schedule.flow_name)
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


def _remove_executions(tx: Tx, ids: list[int]) -> None:
    """Delete the executions ``ids`` and their rows in every table of :data:`EXECUTION_TABLES`."""
    if not ids:
        return
    params = {"ids": tx.array(ids)}
    id_list = tx.sql("execution_id_list")
    for table in EXECUTION_TABLES:  # constants, never input
        tx.raw_count(f"DELETE FROM {table} WHERE execution_id IN ({id_list})", params)
    tx.raw_count(f"DELETE FROM executions WHERE id IN ({id_list})", params)


def _flow_not_found(name: str) -> FlowNotFound:
    return FlowNotFound(f"Flow '{name}' does not exist")


def _schedule_not_found(flow_name: str, name: str) -> ScheduleNotFound:
    return ScheduleNotFound(f"Schedule {name} of flow {flow_name} does not exist.")


def _decode_token(token: str | None) -> tuple[int | None, int | None]:
    if not token:
        return None, None
    try:
        ms, _, ident = token.partition(".")
        after_ms, after_id = int(ms), int(ident)
    except ValueError:
        raise InvalidPageToken(f"invalid NextToken {token[:40]!r}") from None
    if not (-(2**63) <= after_ms < 2**63 and 0 <= after_id < 2**63):  # a column holds 64 bits
        raise InvalidPageToken(f"invalid NextToken {token[:40]!r}")
    return after_ms, after_id
