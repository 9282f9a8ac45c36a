"""Store operations on executions: starting them, reading them and their history, listing them, removing
ended ones (retention)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tidegate.status import ACTIVE, ExecutionStatus
from tidegate.store._sqlbase import SqlBase, flow_not_found
from tidegate.store._writer import apply_now
from tidegate.store.base import EXECUTION_TABLES, ApplyNow
from tidegate.store.database import Tx
from tidegate.store.errors import ExecutionAlreadyExists, ExecutionNotFound, InvalidPageToken
from tidegate.store.notify import WORK
from tidegate.store.records import STATUS_PARAMS, ExecutionRecord, HistoryRow, Page, to_json


class ExecutionsMixin(SqlBase):
    """Executions and their history."""

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
            raise flow_not_found(execution.flow_name)
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
        if apply is None or not apply_now(
            tx, row["id"], apply, self.clock(), start_event, fresh=row, observe=self.transition_observer
        ):
            tx.run(
                "insert_inbox",
                {"execution_id": row["id"], "event": to_json(start_event), "available_ms": execution.started_ms},
            )
            tx.notify(WORK)
        return ExecutionRecord.from_row(row), True

    def get_execution(self, flow_name: str, name: str) -> ExecutionRecord:
        """Return the execution. Raises FlowNotFound or ExecutionNotFound."""
        with self.db.read() as tx:
            flow = tx.one("get_flow", {"name": flow_name})
            if flow is None:
                raise flow_not_found(flow_name)
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
                raise flow_not_found(flow_name)
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

    def get_history(self, execution_id: int, after_event_id: int = 0, limit: int = 1000) -> list[HistoryRow]:
        """Return history events after ``after_event_id`` in id order."""
        with self.db.read() as tx:
            rows = tx.all("get_history", {"execution_id": execution_id, "after": after_event_id, "limit": limit})
        return [HistoryRow.from_row(r) for r in rows]

    # --- retention -------------------------------------------------------------------------------

    def remove_ended_executions(self, ended_before_ms: int, limit: int) -> int:
        """Remove up to ``limit`` executions that ended before ``ended_before_ms``, with all their rows."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self.db.write() as tx:
            rows = tx.all("retention_batch", {**STATUS_PARAMS, "before": ended_before_ms, "limit": limit})
            ids = [int(r["id"]) for r in rows]
            remove_executions(tx, ids)
        return len(ids)


def remove_executions(tx: Tx, ids: list[int]) -> None:
    """Delete the executions ``ids`` and their rows in every table of :data:`EXECUTION_TABLES`."""
    if not ids:
        return
    params = {"ids": tx.array(ids)}
    id_list = tx.sql("execution_id_list")
    for table in EXECUTION_TABLES:  # constants, never input
        tx.raw_count(f"DELETE FROM {table} WHERE execution_id IN ({id_list})", params)
    tx.raw_count(f"DELETE FROM executions WHERE id IN ({id_list})", params)


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
