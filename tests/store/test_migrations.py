"""Versioned migrations: ordered, idempotent, and a fresh schema equals the migrations applied one by one."""

from __future__ import annotations

import re
from pathlib import Path

from tests.stores import OpenUrl
from tidegate.store import Store, open_database
from tidegate.store.database import migrate, migrations


def _columns(sql: str) -> dict[str, list[str]]:
    """Map each created table to its column names (constraint and comment lines skipped)."""
    tables: dict[str, list[str]] = {}
    for name, body in re.findall(r"CREATE TABLE (\w+) \((.*?)\n\);", sql, flags=re.S):
        lines = [line.strip() for line in body.strip().splitlines()]
        skip = ("UNIQUE", "PRIMARY KEY (", "--", "CHECK", "FOREIGN KEY", "CONSTRAINT")
        tables[name] = [line.split()[0] for line in lines if line and not line.startswith(skip)]
    return tables


def test_migration_files_are_ordered_and_match_across_dialects() -> None:
    # Versions need not be dense: each domain may own a range (workflow 0001…, message queue 0100…).
    sqlite, postgres = migrations("sqlite"), migrations("postgres")
    versions = [m.version for m in sqlite]
    assert versions[0] == 1 and versions == sorted(set(versions))
    assert [(m.version, m.name) for m in sqlite] == [(m.version, m.name) for m in postgres]
    for a, b in zip(sqlite, postgres, strict=True):
        assert _columns(a.sql) == _columns(b.sql)
        changes = ("ALTER TABLE", "CREATE INDEX")  # a migration without tables alters or indexes some
        assert _columns(a.sql) or [a.sql.count(c) for c in changes] == [b.sql.count(c) for c in changes] != [0, 0]


def test_open_applies_every_migration_once(store_url: str, store: Store, open_url: OpenUrl) -> None:
    dialect = "sqlite" if store_url.startswith("sqlite") else "postgres"
    assert store.applied_migrations() == [m.version for m in migrations(dialect)]
    before = store.dump_schema()
    again = open_url()  # reopening applies nothing and changes nothing
    assert again.applied_migrations() == store.applied_migrations()
    assert again.dump_schema() == before
    db = open_database(store_url)
    try:
        assert migrate(db) == []
    finally:
        db.close()


def test_step_by_step_equals_fresh(store_url: str, store: Store, tmp_path: Path) -> None:
    fresh = store.dump_schema()
    dialect = "sqlite" if store_url.startswith("sqlite") else "postgres"
    if dialect == "sqlite":
        other_url = f"sqlite:///{tmp_path / 'stepwise.db'}"
    else:
        other_url = store_url.replace("?schema=", "?schema=s")  # a second fresh schema beside the first
    db = open_database(other_url)
    try:
        for m in migrations(dialect):
            assert migrate(db, target=m.version) == [m.version]
        assert db.dump_schema() == fresh
    finally:
        db.close()
        if dialect == "postgres":
            from tests.stores import drop_schema

            drop_schema(other_url.rsplit("=", 1)[1])
