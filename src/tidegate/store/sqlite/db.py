"""SQLite connections and transactions.

Durability: WAL with ``synchronous=FULL`` (the default) syncs the WAL to disk at every commit, so an
acknowledged write survives a power loss or an OS crash. ``synchronous=NORMAL`` (the store URL parameter
``?synchronous=normal``) leaves the commit in the OS page cache: it survives the process being killed, not a
power loss or an OS crash.

Concurrency: one write connection behind a process-wide lock (so threads of this process never spin on
``SQLITE_BUSY``) and ``BEGIN IMMEDIATE`` (so writers of *other* processes queue on ``busy_timeout`` instead
of failing at commit). Reads use one connection per thread; WAL lets them run beside the writer and they
see only committed data.

Group commit (``FULL`` only; a ``NORMAL`` commit costs no fsync to share): writers that arrive while the
connection is busy share one transaction and one fsync. Each writer's block runs in a ``SAVEPOINT`` of the
shared transaction; an exception rolls back that savepoint only and reaches that writer alone. A writer that
finishes its block while others wait for the connection hands the open transaction on to the next one and
waits for the commit; the last writer of a group (no one waiting, or the group reached
:data:`GROUP_MAX_MEMBERS` writers or :data:`GROUP_MAX_S` seconds) commits and wakes every member, so each
``write()`` returns only after the commit that includes it. A failed COMMIT is raised to every member.
Notifications are sent after the commit that covers them.

Notifications are in-process only: another process on the same file is woken by its own timeouts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tidegate.errors import StoreError
from tidegate.store._db import Database, Params, Synchronous, Tx, iter_statements
from tidegate.store.notify import LocalNotifier

BUSY_TIMEOUT_MS = 30_000
CACHE_KIB = 64 << 10
#: A group commits once it holds this many writers, even if more are waiting (bounds the first one's wait).
GROUP_MAX_MEMBERS = 64
#: ... or once its transaction has been open this long.
GROUP_MAX_S = 0.005


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


class _Group:
    """The writers sharing one open transaction, and the outcome of its commit."""

    __slots__ = ("channels", "committed", "done", "error", "members", "opened")

    def __init__(self) -> None:
        self.opened = time.monotonic()
        self.members = 0  # writers that joined, whether their block succeeded or not
        self.committed = 0  # writers whose block succeeded: the commit acknowledges them
        self.channels: set[str] = set()
        self.done = threading.Event()
        self.error: StoreError | None = None


class SqliteDatabase(Database):
    """One SQLite file opened in WAL mode."""

    dialect = "sqlite"

    def __init__(
        self,
        path: str | Path,
        queries: dict[str, str],
        synchronous: Synchronous = Synchronous.FULL,
        *,
        group_max_members: int = GROUP_MAX_MEMBERS,
        group_max_s: float = GROUP_MAX_S,
    ) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.queries = queries
        self.synchronous = Synchronous(synchronous)
        self.notifier: LocalNotifier = LocalNotifier()
        # The write connection is owned by one writer at a time: ``_busy`` under ``_cond``; ``_want`` counts
        # the writers waiting for it, ``_group`` is the transaction open on it (None between groups).
        self._cond = threading.Condition()
        self._busy = False
        self._want = 0
        self._group: _Group | None = None
        self._group_commit = self.synchronous is Synchronous.FULL
        self._group_max_members = group_max_members
        self._group_max_s = group_max_s
        #: Write transactions committed, and ``write()`` blocks they acknowledged (for operators and tests).
        self.commits = 0
        self.acknowledged = 0
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")

    @property
    def fast_commit(self) -> bool:
        """A ``NORMAL`` commit waits on no disk; a ``FULL`` one waits for its fsync."""
        return self.synchronous is Synchronous.NORMAL

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        # isolation_level=None: we issue BEGIN/COMMIT ourselves; check_same_thread=False: close() may run
        # on another thread, and the write connection is shared under our lock.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = _dict_factory
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        conn.execute(f"PRAGMA synchronous={self.synchronous.name}")
        # A page cache of 64 MiB rather than 2 MiB: a busy server's working set stays in it.
        conn.execute(f"PRAGMA cache_size={-CACHE_KIB}")
        with self._all_lock:
            self._all.append(conn)
        return conn

    # --- the write connection -------------------------------------------------------------------------

    def _take(self) -> None:
        """Wait for the write connection and own it."""
        with self._cond:
            self._want += 1
            try:
                while self._busy:
                    self._cond.wait()
            finally:
                self._want -= 1
            if self._closed:
                self._cond.notify()
                raise StoreError("the store is closed")
            self._busy = True

    def _give(self) -> None:
        """Give the write connection to the next waiting writer (call with ``_cond`` held)."""
        self._busy = False
        self._cond.notify()

    def _hand_over(self, group: _Group) -> bool:
        """Leave ``group`` open for a waiting writer if there is one and the group may grow; True if so."""
        if not self._group_commit:
            return False
        with self._cond:
            if (
                self._want
                and group.members < self._group_max_members
                and time.monotonic() - group.opened < self._group_max_s
                and not self._closed
            ):
                self._give()
                return True
        return False

    def _finish(self, group: _Group) -> None:
        """Commit ``group`` (or roll it back when no member succeeded), release the connection, wake all."""
        conn = self._writer
        error: StoreError | None = None
        try:
            conn.execute("COMMIT" if group.committed else "ROLLBACK")
        except sqlite3.Error as exc:
            error = StoreError(f"SQLite: commit failed: {exc}")
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the connection reports the first error; nothing more to undo
        self._end(group, error)

    def _end(self, group: _Group, error: StoreError | None) -> None:
        """Close ``group`` with its outcome, release the connection, notify and wake its members."""
        with self._cond:
            self._group = None
            if error is None and group.committed:
                self.commits += 1
                self.acknowledged += group.committed
            self._give()
        group.error = error
        if error is None and group.channels:
            self.notifier.notify_many(group.channels)
        group.done.set()

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """Run the block in the shared write transaction; return once a commit including it is durable.

        Raises:
            StoreError: the store is closed, SQLite failed, or the commit failed.
        """
        self._take()
        conn = self._writer
        group = self._group
        try:
            if group is None:
                conn.execute("BEGIN IMMEDIATE")
                group = self._group = _Group()
            if self._group_commit:  # without group commit the transaction is this writer's alone
                conn.execute("SAVEPOINT w")
        except sqlite3.Error as exc:
            lost = StoreError(f"SQLite: {exc}")
            if group is not None:  # the open transaction is unusable: its members fail with this error
                self._abandon(group, lost)
            else:
                with self._cond:
                    self._give()
            raise lost from exc
        group.members += 1
        tx = SqliteTx(conn, self.queries)
        try:
            yield tx
            if self._group_commit:
                conn.execute("RELEASE w")
        except BaseException as exc:
            self._drop_member(group, exc)
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"SQLite: {exc}") from exc
            raise
        group.committed += 1
        group.channels |= tx.channels
        if not self._hand_over(group):
            self._finish(group)
        group.done.wait()
        if group.error is not None:
            raise group.error

    def _drop_member(self, group: _Group, exc: BaseException) -> None:
        """Undo a failed block's savepoint; the group goes on (handed over or committed) without it."""
        conn = self._writer
        try:
            if conn.in_transaction and self._group_commit:
                conn.execute("ROLLBACK TO w")
                conn.execute("RELEASE w")
        except sqlite3.Error:
            pass  # checked below: the transaction is gone or unusable
        if not conn.in_transaction:
            # SQLite rolled the whole transaction back (e.g. disk full): the other members lose their work.
            self._abandon(group, StoreError(f"SQLite: the shared transaction was rolled back: {exc}"))
        elif not self._hand_over(group):
            self._finish(group)

    def _abandon(self, group: _Group, error: StoreError) -> None:
        """Roll back what is left of ``group`` and fail every member that is waiting for its commit."""
        conn = self._writer
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # nothing more to undo
        self._end(group, error)

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
        """Commit a group still open, then close every connection this database opened."""
        try:
            self._take()
        except StoreError:
            return  # closed already
        group = self._group
        if group is not None:  # a writer handed its open group on to this close(): commit it
            self._finish(group)
            self._take()
        with self._cond:
            self._closed = True
            with self._all_lock:
                conns, self._all = self._all, []
            self._give()
        for conn in conns:
            conn.close()
