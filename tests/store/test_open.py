"""Choosing a backend by URL, and the package's public names."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

import tidegate.store
from tests.conftest import REPO
from tests.stores import PG_URL, drop_schema, require_pg
from tidegate.errors import ConfigurationError
from tidegate.store import PostgresStore, SqliteStore, Store, open_store
from tidegate.store.database import migrations


def test_sqlite_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Store.from_url(f"sqlite:///{tmp_path / 'abs.db'}") as s:
        assert isinstance(s, SqliteStore)
    assert (tmp_path / "abs.db").exists()
    monkeypatch.chdir(tmp_path)
    with open_store("sqlite:///data/rel.db") as s:
        assert s.get_setting("x") is None
    assert (tmp_path / "data" / "rel.db").exists()


def test_unknown_scheme_and_memory_sqlite_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        open_store("mysql://localhost/db")
    with pytest.raises(ConfigurationError):
        open_store("sqlite://")
    with pytest.raises(ConfigurationError):
        open_store("sqlite:///:memory:")


def test_postgres_url_and_bad_schema() -> None:
    require_pg()
    with pytest.raises(ConfigurationError):
        open_store(f"{PG_URL}?schema=bad;name")
    schema = f"t_{uuid.uuid4().hex[:16]}"  # other test runs may share this database
    try:
        with open_store(PG_URL, schema=schema) as s:
            assert isinstance(s, PostgresStore)
            assert s.applied_migrations() == [m.version for m in migrations("postgres")]
    finally:
        drop_schema(schema)


def test_missing_psycopg_names_the_fix() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["psycopg"] = None  # make "import psycopg" fail
        from tidegate.errors import ConfigurationError
        from tidegate.store import open_store
        try:
            open_store("postgresql://nobody@127.0.0.1:1/x")
        except ConfigurationError as exc:
            print(exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": str(REPO / "src")}
    )
    assert "pip install" in out.stdout and "psycopg" in out.stdout, out.stderr


def test_exported_names_are_pinned() -> None:
    assert sorted(tidegate.store.__all__) == [
        "ApplyNow",
        "ComputeNext",
        "Delivery",
        "EffectOutcome",
        "ExecutionAlreadyExists",
        "ExecutionNotFound",
        "ExecutionRecord",
        "FlowAlreadyExists",
        "FlowNotFound",
        "FlowRecord",
        "HistoryGap",
        "HistoryRow",
        "HistoryWrite",
        "InboxItem",
        "InvalidPageToken",
        "JOBS",
        "JobRecord",
        "JobWrite",
        "LocalNotifier",
        "NodeRecord",
        "Notifier",
        "Page",
        "PostgresStore",
        "Released",
        "STATUS_PARAMS",
        "ScheduleAlreadyExists",
        "ScheduleNotFound",
        "ScheduleRecord",
        "SqliteStore",
        "Store",
        "TaskCompletion",
        "TaskOpen",
        "TaskRecord",
        "TaskStatus",
        "TimerWrite",
        "TransitionWrite",
        "TxEffect",
        "UnreadableRecord",
        "VersionConflict",
        "WORK",
        "WaitingTask",
        "Work",
        "execution_channel",
        "open_database",
        "open_store",
    ]
