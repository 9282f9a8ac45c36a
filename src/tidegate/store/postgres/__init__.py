"""The PostgreSQL backend (psycopg 3, imported lazily)."""

from __future__ import annotations

from tidegate.store.postgres.db import PostgresDatabase

__all__ = ["PostgresDatabase"]
