"""The embedded SQLite backend (WAL, one file)."""

from __future__ import annotations

from tidegate.store.sqlite.db import SqliteDatabase

__all__ = ["SqliteDatabase"]
