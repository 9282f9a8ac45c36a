"""Look at a store without changing it: can it be reached, and which migrations has it applied?

``tidegate server --check`` uses this instead of :func:`tidegate.store.open_store`, which applies the
missing migrations.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from tidegate.errors import StoreError
from tidegate.store._open import open_database
from tidegate.store.database import migrations

__all__ = ["SchemaStatus", "read_setting", "schema_status"]

#: Whether a table (a constant name of the schema, never input) exists.
_HAS_TABLE = {
    "sqlite": "SELECT 1 AS found FROM sqlite_master WHERE type = 'table' AND name = '{table}'",
    "postgres": (
        "SELECT 1 AS found FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_name = '{table}'"
    ),
}


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """The migrations a store has applied, against those this version of tidegate knows."""

    dialect: str
    applied: tuple[int, ...]
    known: tuple[int, ...]

    @property
    def pending(self) -> tuple[int, ...]:
        """Known migrations the store has not applied yet (applied when a server opens it)."""
        done = set(self.applied)
        return tuple(v for v in self.known if v not in done)

    @property
    def unknown(self) -> tuple[int, ...]:
        """Applied migrations this version does not know: the store was used by a newer tidegate."""
        known = set(self.known)
        return tuple(v for v in self.applied if v not in known)


def schema_status(url: str) -> SchemaStatus:
    """Connect to the store named by ``url`` and read its applied migrations; migrate nothing.

    A SQLite file that does not exist yet is created empty (as opening it does); call this for an
    existing file when nothing may be created.

    Raises:
        ConfigurationError: an unknown scheme, or psycopg missing for a PostgreSQL URL.
        StoreUnavailable: the PostgreSQL server cannot be reached or refuses the connection.
        StoreError: the database cannot be opened or read.
    """
    try:
        db = open_database(url)
    except sqlite3.Error as exc:  # not a database, or not openable
        raise StoreError(f"SQLite: {exc}") from exc
    try:
        with db.read() as tx:
            if tx.raw(_HAS_TABLE[db.dialect].format(table="schema_migrations")):
                rows = tx.raw("SELECT version FROM schema_migrations ORDER BY version")
            else:
                rows = []
        applied = tuple(int(r["version"]) for r in rows)
        return SchemaStatus(db.dialect, applied, tuple(m.version for m in migrations(db.dialect)))
    finally:
        db.close()


def read_setting(url: str, key: str) -> str | None:
    """Read one setting of the store named by ``url`` (None when absent, or no settings table yet); migrate nothing.

    Raises: as :func:`schema_status`.
    """
    try:
        db = open_database(url)
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite: {exc}") from exc
    try:
        with db.read() as tx:
            if not tx.raw(_HAS_TABLE[db.dialect].format(table="settings")):
                return None
            row = tx.one("get_setting", {"key": key})
        return None if row is None else str(row["value"])
    finally:
        db.close()
