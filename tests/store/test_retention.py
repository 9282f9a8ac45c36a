"""Retention in the store: executions ended before a cut-off go with every row they own, a batch at a time;
running executions and children of running parents stay. Times are arguments (a pinned clock)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.store.helpers import make_flow, start, step
from tests.store.test_delete_flow import TABLES, busy_execution, rows_of
from tidegate.store import ExecutionNotFound, ExecutionRecord, Store, open_store
from tidegate.store.base import EXECUTION_TABLES

FAR_FUTURE = 10**13


def ended(store: Store, name: str, stopped_ms: int, status: str = "Succeeded", **extra: Any) -> ExecutionRecord:
    """An execution with history and a task, ended as ``status`` at ``stopped_ms``."""
    record = busy_execution(store, name) if not extra else start(store, name, **extra)
    store.commit([step(record, status=status, output="{}", stopped_ms=stopped_ms)])
    return store.get_execution_by_id(record.id)


def test_every_table_with_an_execution_id_is_one_retention_empties(tmp_path: Path) -> None:
    """A new table of rows that belong to an execution must be listed in EXECUTION_TABLES."""
    with open_store(f"sqlite:///{tmp_path / 'schema.db'}") as store:
        schema = store.dump_schema()
    owned = {m.group(1) for m in re.finditer(r"^table (\w+): .*[( ,]execution_id ", schema, re.MULTILINE)}
    assert owned >= {"history", "inbox"}  # the pattern finds them
    assert set(EXECUTION_TABLES) == owned
    assert set(TABLES) == owned | {"executions"}  # what rows_of counts below


def test_old_ended_executions_go_with_all_their_rows_running_ones_stay(store: Store) -> None:
    make_flow(store)
    old = ended(store, "old", stopped_ms=1_000)
    failed = ended(store, "failed", stopped_ms=1_500, status="Failed")
    recent = ended(store, "recent", stopped_ms=5_000, status="Stopped")
    running = busy_execution(store, "running")  # started at 1000, long before every cut-off below
    before = rows_of(store, [old.id])
    assert before["executions"] == 1 and before["history"] >= 4 and before["tasks"] == 1

    assert store.remove_ended_executions(2_000, 100) == 2
    assert rows_of(store, [old.id, failed.id]) == dict.fromkeys(TABLES, 0)
    for gone in (old, failed):
        with pytest.raises(ExecutionNotFound):
            store.get_execution_by_id(gone.id)
    assert store.get_execution("flow1", "recent").status == "Stopped"
    assert rows_of(store, [recent.id]) == before

    assert store.remove_ended_executions(5_000, 100) == 0  # ended AT the cut-off is not before it
    assert store.remove_ended_executions(FAR_FUTURE, 100) == 1
    assert rows_of(store, [recent.id]) == dict.fromkeys(TABLES, 0)
    kept = rows_of(store, [running.id])
    assert store.get_execution_by_id(running.id).status == "Running"
    assert kept["history"] == 3 and kept["timers"] == 1 and kept["jobs"] == 1 and kept["inbox"] >= 1
    # A name of a removed execution can be used again.
    assert start(store, "old").status == "Running"


def test_batches_are_bounded_and_the_longest_ended_go_first(store: Store) -> None:
    make_flow(store)
    times = [5_000, 1_000, 4_000, 2_000, 3_000]
    ids = {t: ended(store, f"e{t}", stopped_ms=t).id for t in times}
    assert store.remove_ended_executions(FAR_FUTURE, 2) == 2
    assert rows_of(store, [ids[1_000], ids[2_000]]) == dict.fromkeys(TABLES, 0)
    assert rows_of(store, [ids[3_000], ids[4_000], ids[5_000]])["executions"] == 3
    assert store.remove_ended_executions(FAR_FUTURE, 2) == 2
    assert store.remove_ended_executions(FAR_FUTURE, 2) == 1
    assert store.remove_ended_executions(FAR_FUTURE, 2) == 0
    assert rows_of(store, list(ids.values())) == dict.fromkeys(TABLES, 0)
    with pytest.raises(ValueError):
        store.remove_ended_executions(FAR_FUTURE, 0)


def test_a_child_stays_while_its_parent_runs(store: Store) -> None:
    make_flow(store)
    parent = busy_execution(store, "parent")
    child = ended(store, "child", stopped_ms=1_000, parent_id=parent.id)
    assert store.get_execution_by_id(child.id).parent_id == parent.id
    orphan = ended(store, "orphan", stopped_ms=1_000, parent_id=10**9)  # its parent is gone already

    assert store.remove_ended_executions(FAR_FUTURE, 100) == 1
    assert rows_of(store, [orphan.id])["executions"] == 0
    assert store.get_execution("flow1", "child").status == "Succeeded"

    store.commit([step(store.get_execution_by_id(parent.id), status="Failed", stopped_ms=2_000)])
    assert store.remove_ended_executions(1_500, 100) == 1  # the child; the parent ended after the cut-off
    assert rows_of(store, [child.id]) == dict.fromkeys(TABLES, 0)
    assert store.get_execution("flow1", "parent").status == "Failed"
    assert store.remove_ended_executions(FAR_FUTURE, 100) == 1
    assert rows_of(store, [parent.id]) == dict.fromkeys(TABLES, 0)


def test_a_purged_flow_and_retention_share_the_removal(store: Store) -> None:
    make_flow(store)
    gone = ended(store, "gone", stopped_ms=1_000)
    flow_id = store.delete_flow("flow1").id
    assert store.remove_ended_executions(FAR_FUTURE, 100) == 1  # retention takes deleted flows' too
    assert store.purge_flow_executions(flow_id, 10) == 0
    assert rows_of(store, [gone.id]) == dict.fromkeys(TABLES, 0)


def test_reclaim_space(store: Store) -> None:
    with pytest.raises(ValueError):
        store.reclaim_space(0)
    db: Any = getattr(store, "db")  # noqa: B009  (the SQL store's database, for a direct look)
    make_flow(store)
    big = "x" * 50_000
    for i in range(40):
        record = start(store, f"e{i}")
        store.commit([step(record, status="Succeeded", output=f'"{big}"', stopped_ms=1_000)])
    assert store.remove_ended_executions(FAR_FUTURE, 100) == 40
    if db.dialect != "sqlite":
        assert store.reclaim_space(1000) == 0  # PostgreSQL's autovacuum reuses the space
        return
    with db.read() as tx:
        assert tx.raw("PRAGMA auto_vacuum")[0]["auto_vacuum"] == 2  # a new store is incremental
        free = int(tx.raw("PRAGMA freelist_count")[0]["freelist_count"])
        pages = int(tx.raw("PRAGMA page_count")[0]["page_count"])
    assert free > 100
    assert store.reclaim_space(100) == 100
    assert store.reclaim_space(10**6) == free - 100
    with db.read() as tx:
        assert int(tx.raw("PRAGMA freelist_count")[0]["freelist_count"]) == 0
        assert int(tx.raw("PRAGMA page_count")[0]["page_count"]) == pages - free
