"""Choose a backend from a URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tidegate.errors import ConfigurationError
from tidegate.store._db import Database, load_queries
from tidegate.store._sqlstore import SqlStore
from tidegate.store.base import Store


class SqliteStore(SqlStore):
    """The embedded store: one SQLite file in WAL mode."""


class PostgresStore(SqlStore):
    """The shared store: a PostgreSQL database (optionally one schema of it)."""


def open_database(url: str, **options: Any) -> Database:
    """Connect to the database named by ``url`` without migrating it (see :func:`open_store`)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from tidegate.store.sqlite import SqliteDatabase

        path = url[len("sqlite://") :]
        if path.startswith("//"):
            path = path[1:]  # sqlite:////abs/path → /abs/path
        elif path.startswith("/"):
            path = path[1:]  # sqlite:///rel/path → rel/path
        if not path or path == ":memory:":
            # Each thread has its own connection, and each would see its own empty in-memory database.
            raise ConfigurationError("the SQLite store needs a file path: sqlite:///path/to/file.db")
        return SqliteDatabase(path, load_queries("sqlite", "workflow"))
    if scheme in ("postgresql", "postgres"):
        from tidegate.store.postgres import PostgresDatabase

        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        schema = options.pop("schema", None)
        schema = next((v for k, v in query if k == "schema"), schema)
        clean = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "schema"])))
        return PostgresDatabase(clean, load_queries("postgres", "workflow"), schema=schema, **options)
    raise ConfigurationError(f"unknown store URL scheme {scheme!r}: use sqlite:///path or postgresql://…")


def open_store(url: str, **options: Any) -> Store:
    """Open (and migrate) the store named by ``url``.

    Args:
        url: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's
            convention), or ``postgresql://user@host:port/db``. A PostgreSQL URL may carry
            ``?schema=name`` (our parameter, removed before connecting) to keep the store in its own
            schema, created on open.
        **options: ``schema=`` and ``pool_size=`` for PostgreSQL.

    Raises:
        ConfigurationError: an unknown scheme, or psycopg missing for a PostgreSQL URL.
    """
    db = open_database(url, **options)
    return SqliteStore(db) if db.dialect == "sqlite" else PostgresStore(db)
