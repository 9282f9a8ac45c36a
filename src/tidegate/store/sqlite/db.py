"""SQLite connections and transactions.

Durability: WAL mode. With ``synchronous=full`` (the default) a write is acknowledged only once its commit
is on disk, so it survives a power loss or an OS crash; with ``synchronous=normal`` (the store URL parameter
``?synchronous=normal``) once the OS has it: it survives the process being killed, not a power loss.

Group commit: SQLite's own ``PRAGMA synchronous=FULL`` is ``NORMAL`` plus one fsync of the WAL file after
each commit, made while the writer still holds the database's write lock, so every writer would wait for
every other writer's fsync. Here the connections run ``NORMAL`` (checkpoints and WAL restarts are synced by
SQLite) and a flusher thread makes that WAL fsync itself, after the commit and outside the write lock: the
next writers commit while it runs, and one fsync covers every commit made before it started. A writer's
``write()`` returns once a sync that began after its COMMIT has completed. Its notifications are sent then
too, so a woken waiter never acts on data a power loss could still take back. Each writer keeps its own
transaction: an exception rolls back that writer's work only.

An event loop must not block on the sync: it runs a request's store calls inside
:meth:`SqliteDatabase.acknowledge_later` (``write()`` returns at COMMIT) and awaits
:meth:`SqliteDatabase.durable` before it replies.

Reads see committed data, which may be a few milliseconds ahead of the disk: a thread's ``read()`` block
therefore waits on exit, like a write, for every commit it can have seen (a read inside a write block, or
inside ``acknowledge_later``, does not: its caller waits anyway).

Concurrency: one write connection behind a process-wide lock (so threads of this process never spin on
``SQLITE_BUSY``) and ``BEGIN IMMEDIATE`` (so writers of *other* processes queue on ``busy_timeout`` instead
of failing at commit). Reads use one connection per thread; WAL lets them run beside the writer.
Notifications are in-process only: another process on the same file is woken by its own timeouts.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tidegate.errors import StoreError
from tidegate.store.database import Database, Params, Synchronous, Tx, iter_statements
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

    def __init__(self, path: str | Path, queries: dict[str, str], synchronous: Synchronous = Synchronous.FULL) -> None:
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.queries = queries
        self.synchronous = Synchronous(synchronous)
        self.notifier: LocalNotifier = LocalNotifier()
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        try:
            self._writer = self._connect()
            # Before the first table exists (a new file), so that retention can give removed rows' pages back
            # to the file system (PRAGMA incremental_vacuum); an existing file keeps its mode (operations.md).
            self._writer.execute("PRAGMA auto_vacuum=INCREMENTAL")
            self._writer.execute("PRAGMA journal_mode=WAL")
        except sqlite3.Error as exc:  # a file that is not a database, or a folder that cannot hold one
            raise StoreError(f"the SQLite store {self.path} cannot be opened: {exc}") from exc
        self._flusher = _Flusher(self.path + "-wal", self.notifier) if self.synchronous is Synchronous.FULL else None

    def _connect(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError("the store is closed")
        # isolation_level=None: we issue BEGIN/COMMIT ourselves; check_same_thread=False: close() may run
        # on another thread, and the write connection is shared under our lock.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = _dict_factory
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # NORMAL in both settings: with ``full`` the flusher adds the WAL sync after each commit (module doc).
        conn.execute("PRAGMA synchronous=NORMAL")
        # A page cache of 64 MiB rather than 2 MiB: a busy server's working set stays in it.
        conn.execute(f"PRAGMA cache_size={-CACHE_KIB}")
        with self._all_lock:
            self._all.append(conn)
        return conn

    @property
    def commits(self) -> int:
        """Write transactions committed since the store was opened (counted with ``synchronous=full`` only)."""
        return self._flusher.committed if self._flusher is not None else 0

    @property
    def syncs(self) -> int:
        """WAL syncs the flusher made (each covers every commit before it); 0 with ``synchronous=normal``."""
        return self._flusher.syncs if self._flusher is not None else 0

    def _later(self) -> bool:
        return getattr(self._local, "later", 0) > 0

    @contextmanager
    def acknowledge_later(self) -> Iterator[None]:
        """Writes and reads of this thread do not wait for the disk here; the caller awaits :meth:`durable`."""
        self._local.later = getattr(self._local, "later", 0) + 1
        try:
            yield
        finally:
            self._local.later -= 1

    async def durable(self) -> None:
        """Return once every commit made so far is on disk (at once with ``synchronous=normal``)."""
        if self._flusher is not None:
            await self._flusher.wait_async(self._flusher.committing)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """Run a ``BEGIN IMMEDIATE`` transaction on the write connection; return once its commit is on disk.

        Raises:
            StoreError: the store is closed, SQLite failed, or the disk failed to sync the commit.
        """
        flusher = self._flusher
        started = time.perf_counter()
        with self._write_lock:
            if self._closed:
                raise StoreError("the store is closed")
            if flusher is not None:
                flusher.check()
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            tx = SqliteTx(conn, self.queries)
            self._local.writing = True
            seq = 0
            try:
                yield tx
                if flusher is None:
                    conn.execute("COMMIT")
                else:
                    # Readers may see this commit as soon as COMMIT writes it: from here they wait for it.
                    flusher.committing += 1
                    ok = False
                    try:
                        conn.execute("COMMIT")
                        ok = True
                    finally:  # a failed COMMIT is counted too (its sync is harmless): no reader waits in vain
                        seq = flusher.committed_one(tx.channels if ok else set())  # under the lock: commit order
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError(f"SQLite: {exc}") from exc
                raise
            finally:
                self._local.writing = False
        if flusher is None:
            if tx.channels:
                self.notifier.notify_many(tx.channels)
        elif not self._later():
            flusher.wait(seq)
        if tx.on_commit or self.write_observer is not None:
            self.committed(tx, started)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Use this thread's read connection (each statement sees the latest commit).

        With ``synchronous=full`` the block waits on exit until every commit it can have seen is on disk (not
        inside a write block or :meth:`acknowledge_later`, whose callers wait anyway).
        """
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
        if self._flusher is not None and not self._later() and not getattr(self._local, "writing", False):
            self._flusher.wait(self._flusher.committing)  # every commit this block can have seen

    def dump_schema(self) -> str:
        """Return every table, index and its SQL, sorted by name."""
        with self.read() as tx:
            rows = tx.raw(
                "SELECT type, name, sql FROM sqlite_master "
                "WHERE name NOT LIKE 'sqlite_%' AND sql IS NOT NULL ORDER BY type, name"
            )
        return "\n".join(f"{r['type']} {r['name']}: {' '.join(r['sql'].split())}" for r in rows)

    def close(self) -> None:
        """Sync what is committed, stop the flusher and close every connection this database opened."""
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            with self._all_lock:
                conns, self._all = self._all, []
        if self._flusher is not None:
            self._flusher.close()
        for conn in conns:
            conn.close()


class _Flusher:
    """The thread that syncs the WAL file after commits and acknowledges the commits each sync covered.

    Commits are numbered in commit order (:meth:`committed_one`, called under the write lock). The thread
    waits until ``committed`` is ahead of ``synced``, notes ``committed``, syncs the WAL file and then marks
    every commit up to the noted number as durable: waiting threads wake, asyncio waiters' futures resolve on
    their loops, and the commits' notification channels are notified. A failed sync is permanent (the state
    of the file is then unknown): every waiter and every later write gets the error.
    """

    def __init__(self, wal_path: str, notifier: LocalNotifier) -> None:
        self.wal_path = wal_path
        self.notifier = notifier
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # the thread waits here for commits
        self._done = threading.Condition(self._lock)  # writers wait here for syncs
        self.committing = 0  # commits that readers may see (bumped under the write lock just before COMMIT)
        self.committed = 0
        self.synced = 0
        self.syncs = 0
        self._channels: list[tuple[int, set[str]]] = []
        self._async: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        self._error: StoreError | None = None
        self._closing = False
        self._fd: int | None = None
        #: Held around each sync; tests hold it to make several commits share the next sync.
        self.gate = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="tidegate-wal-sync", daemon=True)
        self._thread.start()

    def check(self) -> None:
        """Raise the sync error, if a sync ever failed."""
        if self._error is not None:
            raise self._error

    def committed_one(self, channels: set[str]) -> int:
        """Count a commit (its notifications wait for its sync); return its number."""
        with self._lock:
            self.committed += 1
            if channels:
                self._channels.append((self.committed, channels))
            self._work.notify()
            return self.committed

    def wait(self, seq: int) -> None:
        """Block until commit ``seq`` is on disk."""
        with self._lock:
            while self.synced < seq and self._error is None:
                self._done.wait()
            if self.synced < seq and self._error is not None:
                raise self._error

    async def wait_async(self, seq: int) -> None:
        """Wait on the running event loop until commit ``seq`` is on disk."""
        with self._lock:
            if self.synced >= seq:
                return
            if self._error is not None:
                raise self._error
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[None] = loop.create_future()
            self._async.append((seq, loop, fut))
        await fut

    def _run(self) -> None:
        while True:
            with self._lock:
                while self.committed == self.synced and not self._closing:
                    self._work.wait()
                if self.committed == self.synced:
                    return  # closing, and everything committed is on disk
            with self.gate:
                with self._lock:
                    target = self.committed
                error: StoreError | None = None
                try:
                    self._sync()
                except OSError as exc:
                    error = StoreError(f"SQLite: syncing {self.wal_path} failed, commits since are not durable: {exc}")
            self._settle(target, error)
            if error is not None:
                return

    def _sync(self) -> None:
        # The WAL file exists once something was committed, and keeps its inode while the database is open
        # (SQLite removes it only when the last connection closes).
        if self._fd is None:
            self._fd = os.open(self.wal_path, os.O_RDONLY)
            # Its directory entry, once: the file may have been created since the directory was last synced.
            dir_fd = os.open(os.path.dirname(os.path.abspath(self.wal_path)), os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        os.fdatasync(self._fd)

    def _settle(self, target: int, error: StoreError | None) -> None:
        """Mark commits up to ``target`` durable (or failed) and wake everyone waiting for them."""
        with self._lock:
            if error is None:
                self.synced = target
                self.syncs += 1
                channels: set[str] = set()
                while self._channels and self._channels[0][0] <= target:
                    channels |= self._channels.pop(0)[1]
                ready = [w for w in self._async if w[0] <= target]
                self._async = [w for w in self._async if w[0] > target]
            else:
                self._error = error
                channels, ready, self._async = set(), self._async, []
            self._done.notify_all()
        if channels:
            self.notifier.notify_many(channels)
        by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
        for _, loop, fut in ready:
            by_loop.setdefault(loop, []).append(fut)
        for loop, futs in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, futs, error)
            except RuntimeError:
                pass  # that loop is closed: nobody awaits its futures any more

    def close(self) -> None:
        """Sync what is committed, then stop the thread and close the file."""
        with self._lock:
            self._closing = True
            self._work.notify()
        self._thread.join()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _resolve(futures: list[asyncio.Future[None]], error: StoreError | None) -> None:
    for fut in futures:
        if not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(error)
