"""SQLite connections and transactions.

Durability: WAL with ``synchronous=NORMAL`` means a committed transaction survives the process being
killed (the WAL is in the OS page cache); only a power loss or OS crash can lose the last commits.

Concurrency: one write connection behind a process-wide lock (so threads of this process never spin on
``SQLITE_BUSY``) and ``BEGIN IMMEDIATE`` (so writers of *other* processes queue on ``busy_timeout`` instead
of failing at commit). Reads use one connection per thread; WAL lets them run beside the writer.
Notifications are in-process only: another process on the same file is woken by its own timeouts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tidegate.errors import StoreError
from tidegate.store._db import Database, Params, Tx, iter_statements
from tidegate.store.notify import LocalNotifier

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 << 10


def _dict_factory(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> dict[str, Any]:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


class SqliteTx(Tx):
    """A transaction (or read unit) on one SQLite connection."""

    def __init__(self, conn: sqlite3.Connection, queries: dict[str, str]) -> None:
        super().__init__(queries)
        self._conn = conn

    def array(self, values: Sequence[Any]) -> Any:
        """Lists travel as JSON text, unpacked with ``json_each`` in SQL."""
        return json.dumps(list(values))

    def raw(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        """Run SQL and return its rows."""
        return self._conn.execute(sql, params or {}).fetchall()

    def raw_count(self, sql: str, params: Params | None = None) -> int:
        """Run SQL and return the changed row count."""
        return self._conn.execute(sql, params or {}).rowcount

    def raw_many(self, sql: str, params: list[Params]) -> None:
        """Run SQL once per parameter set."""
        self._conn.executemany(sql, params)

    def script(self, sql: str) -> None:
        """Run statements one by one: ``executescript`` would commit our transaction."""
        for stmt in iter_statements(sql):
            self._conn.execute(stmt)

    def lock_migrations(self) -> None:
        """``BEGIN IMMEDIATE`` already holds the database write lock."""


class SqliteDatabase(Database):
    """One SQLite file opened in WAL mode."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, queries: dict[str, str]) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.queries = queries
        self.notifier: LocalNotifier = LocalNotifier()
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        # isolation_level=None: we issue BEGIN/COMMIT ourselves; check_same_thread=False: close() may run
        # on another thread, and the write connection is shared under our lock.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = _dict_factory
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA synchronous=NORMAL")
        # A page cache of 64 MiB rather than 2 MiB: a busy server's working set stays in it.
        conn.execute(f"PRAGMA cache_size={-CACHE_KIB}")
        with self._all_lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """Run a ``BEGIN IMMEDIATE`` transaction on the write connection; notify after commit."""
        with self._write_lock:
            if self._closed:
                raise StoreError("the store is closed")
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            tx = SqliteTx(conn, self.queries)
            try:
                yield tx
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"SQLite: {exc}") from exc
                raise
        if tx.channels:
            self.notifier.notify_many(tx.channels)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Use this thread's read connection (each statement sees the latest commit)."""
        if self._closed:
            raise StoreError("the store is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
        try:
            yield SqliteTx(conn, self.queries)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite: {exc}") from exc

    def dump_schema(self) -> str:
        """Return every table, index and its SQL, sorted by name."""
        with self.read() as tx:
            rows = tx.raw(
                "SELECT type, name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL ORDER BY type, name"
            )
        return "\n".join(f"{r['type']} {r['name']}: {' '.join(r['sql'].split())}" for r in rows)

    def close(self) -> None:
        """Close every connection this database opened."""
        with self._write_lock:
            self._closed = True
            with self._all_lock:
                conns, self._all = self._all, []
        for conn in conns:
            conn.close()
