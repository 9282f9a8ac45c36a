"""Choose a backend from a URL."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tidegate.clock import Clock, now_ms
from tidegate.errors import ConfigurationError
from tidegate.store._sqlstore import SqlStore
from tidegate.store.base import Store
from tidegate.store.database import Database, Synchronous, load_queries


class SqliteStore(SqlStore):
    """The embedded store: one SQLite file in WAL mode."""


#: The parameters a store URL may carry, per scheme (PostgreSQL passes its others on to libpq).
_SQLITE_PARAMS = frozenset({"synchronous"})


class PostgresStore(SqlStore):
    """The shared store: a PostgreSQL database (optionally one schema of it)."""


def open_database(url: str, **options: Any) -> Database:
    """Connect to the database named by ``url`` without migrating it (see :func:`open_store`)."""
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        from tidegate.store.sqlite import SqliteDatabase

        path, _, url_query = url[len("sqlite://") :].partition("?")
        params = _sqlite_params(url_query)
        unknown = sorted(set(options) - _SQLITE_PARAMS)
        if unknown:
            raise ConfigurationError(f"the SQLite store takes no option {', '.join(map(repr, unknown))}")
        synchronous = Synchronous.parse(params.get("synchronous", options.get("synchronous", "full")))
        if path.startswith("//"):
            path = path[1:]  # sqlite:////abs/path → /abs/path
        elif path.startswith("/"):
            path = path[1:]  # sqlite:///rel/path → rel/path
        if not path or path == ":memory:":
            # Each thread has its own connection, and each would see its own empty in-memory database.
            raise ConfigurationError("the SQLite store needs a file path: sqlite:///path/to/file.db")
        return SqliteDatabase(path, load_queries("sqlite", "workflow"), synchronous)
    if scheme in ("postgresql", "postgres"):
        from tidegate.store.postgres import PostgresDatabase

        parts = urlsplit(url)
        query = parse_qsl(parts.query)
        schema = options.pop("schema", None)
        schema = next((v for k, v in query if k == "schema"), schema)
        sync = Synchronous.parse(next((v for k, v in query if k == "synchronous"), options.pop("synchronous", "full")))
        if sync is not Synchronous.FULL:
            raise ConfigurationError(
                "synchronous=normal is for SQLite only: PostgreSQL always commits with synchronous_commit=on"
            )
        ours = ("schema", "synchronous")
        clean = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k not in ours])))
        return PostgresDatabase(clean, load_queries("postgres", "workflow"), schema=schema, **options)
    raise ConfigurationError(f"unknown store URL scheme {scheme!r}: use sqlite:///path or postgresql://…")


def _sqlite_params(query: str) -> dict[str, str]:
    """The parameters of a SQLite URL; an unknown or repeated one is refused rather than ignored."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key not in _SQLITE_PARAMS:
            raise ConfigurationError(f"unknown SQLite store URL parameter {key!r}: the only one is 'synchronous'")
        if key in params:
            raise ConfigurationError(f"the SQLite store URL parameter {key!r} is given twice")
        params[key] = value
    return params


def open_store(url: str, *, clock: Clock = now_ms, **options: Any) -> Store:
    """Open (and migrate) the store named by ``url``.

    Args:
        url: ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db`` (SQLAlchemy's
            convention), or ``postgresql://user@host:port/db``. A PostgreSQL URL may carry
            ``?schema=name`` (our parameter, removed before connecting) to keep the store in its own
            schema, created on open. Either may carry ``?synchronous=full`` (the default: a write is
            acknowledged once it is on disk); a SQLite URL may carry ``?synchronous=normal`` instead
            (acknowledged once the OS has it: survives a process crash, not a power loss).
        clock: The store's source of "now" (epoch ms) for every operation that takes no ``now_ms``
            argument; tests pin it.
        **options: ``synchronous=`` for both; ``schema=`` and ``pool_size=`` for PostgreSQL.

    Raises:
        ConfigurationError: an unknown scheme, URL parameter or ``synchronous`` value, or psycopg missing
            for a PostgreSQL URL.
    """
    db = open_database(url, **options)
    return SqliteStore(db, clock) if db.dialect == "sqlite" else PostgresStore(db, clock)
