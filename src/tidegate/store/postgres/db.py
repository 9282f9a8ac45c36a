"""PostgreSQL connections, transactions and LISTEN/NOTIFY.

A small thread-safe pool (a LIFO queue of autocommit connections; each write opens an explicit
transaction) avoids a psycopg_pool dependency. ``schema`` isolates a store inside one database (tests use
a fresh schema each): every connection sets ``search_path`` to it, and the schema is created on open.

Durability: every connection sets ``synchronous_commit = on`` whatever the server's or role's default, so a
write is acknowledged only once its commit is flushed to the WAL on disk (and, with synchronous replicas
configured, once they have it). A connection URL that tries to weaken it (``options=-c
synchronous_commit=...``) is refused.

Notifications travel on one PostgreSQL channel per schema with the logical channel name as payload;
``pg_notify`` runs inside the committing transaction, so a waiter can only be woken after the data it
waits for is visible, and every process sharing the database is woken.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tidegate.errors import ConfigurationError, ConflictError, StoreError, StoreUnavailable
from tidegate.store.database import Database, Params, Tx
from tidegate.store.postgres.listen import PgNotifier

try:  # psycopg is optional: only the PostgreSQL backend needs it.
    import psycopg
    from psycopg import sql as pgsql
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.rows import dict_row
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ConfigurationError(
        "The PostgreSQL store needs psycopg 3: run \"pip install 'tidegate[postgres]'\" "
        "(or \"pip install 'psycopg[binary]'\")."
    ) from exc


POOL_TIMEOUT_S = 60


class PgTx(Tx):
    """A transaction on one pooled connection."""

    def __init__(self, conn: Any, queries: dict[str, str]) -> None:
        super().__init__(queries)
        self._cur = conn.cursor()

    def array(self, values: Sequence[Any]) -> Any:
        """psycopg adapts a list to a PostgreSQL array."""
        return list(values)

    def raw(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        """Run SQL and return its rows."""
        self._cur.execute(sql, params)
        return list(self._cur.fetchall()) if self._cur.description is not None else []

    def raw_count(self, sql: str, params: Params | None = None) -> int:
        """Run SQL and return the changed row count."""
        self._cur.execute(sql, params)
        return int(self._cur.rowcount)

    def raw_many(self, sql: str, params: list[Params]) -> None:
        """Run SQL once per parameter set (psycopg pipelines these)."""
        self._cur.executemany(sql, params)

    def raw_each(self, sql: str, params: list[Params]) -> list[dict[str, Any] | None]:
        """One pipelined round trip for the whole batch (``executemany(returning=True)``)."""
        self._cur.executemany(sql, params, returning=True)
        out: list[dict[str, Any] | None] = []
        while True:
            out.append(self._cur.fetchone())
            if not self._cur.nextset():
                break
        return out

    def raw_insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """COPY is several times faster than pipelined INSERTs for history batches."""
        stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
            pgsql.Identifier(table), pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns)
        )
        with self._cur.copy(stmt) as copy:
            for row in rows:
                copy.write_row(row)

    def script(self, sql: str) -> None:
        """Run a parameterless script; PostgreSQL accepts several statements in one simple query."""
        self._cur.execute(sql.encode(), prepare=False)

    def lock_migrations(self) -> None:
        """Take a transaction-scoped advisory lock keyed by the schema name."""
        self._cur.execute("SELECT pg_advisory_xact_lock(hashtext('tidegate:' || current_schema()))")


class PostgresDatabase(Database):
    """A PostgreSQL database (optionally one schema of it)."""

    dialect = "postgres"

    def __init__(self, url: str, queries: dict[str, str], *, schema: str | None = None, pool_size: int = 8) -> None:
        self.url = url
        self.schema = schema
        self.queries = queries
        self._pool: queue.LifoQueue[Any] = queue.LifoQueue()
        self._size = pool_size
        self._created = 0
        self._lock = threading.Lock()
        self._closed = False
        if schema is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", schema):
            raise ConfigurationError(f"invalid PostgreSQL schema name {schema!r}")
        self.channel = f"tidegate:{schema or 'public'}"
        try:
            given = str(conninfo_to_dict(url).get("options") or "")
        except psycopg.Error as exc:
            raise ConfigurationError(f"invalid PostgreSQL URL {_redact(url)}: {exc}") from exc
        if "synchronous_commit" in given:
            raise ConfigurationError(
                "the store sets synchronous_commit=on itself (an acknowledged write is on disk): "
                "remove synchronous_commit from the URL's options"
            )
        try:
            if schema is not None:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(schema)))
            self.notifier: PgNotifier = PgNotifier(self._connect, self.channel, self.send)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"PostgreSQL: cannot open {_redact(url)}: {exc}") from exc

    def _connect(self) -> Any:
        if self.schema is None:
            conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row)
        else:
            options = f"-c search_path={self.schema}"
            conn = psycopg.connect(self.url, autocommit=True, row_factory=dict_row, options=options)
        try:
            # Whatever the server's default: a commit returns only once it is on disk.
            conn.execute("SET synchronous_commit = on")
        except BaseException:
            conn.close()
            raise
        return conn

    def _acquire(self) -> Any:
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            try:
                return self._pool.get_nowait()
            except queue.Empty:
                if self._created < self._size:
                    self._created += 1
                    create = True
                else:
                    create = False
        if create:
            try:
                return self._connect()
            except BaseException:
                with self._lock:
                    self._created -= 1
                raise
        try:
            return self._pool.get(timeout=POOL_TIMEOUT_S)
        except queue.Empty:
            raise StoreError(f"no free PostgreSQL connection after {POOL_TIMEOUT_S} s") from None

    def _release(self, conn: Any) -> None:
        # A connection left in a failed or unknown state is dropped instead of reused.
        if conn.closed or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE or self._closed:
            conn.close()
            with self._lock:
                self._created -= 1
            return
        self._pool.put(conn)

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        try:
            conn = self._acquire()
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL: {exc}") from exc
        try:
            yield conn
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
            raise ConflictError(f"PostgreSQL: {exc}") from exc  # retryable, like a version conflict
        except psycopg.Error as exc:
            # Driver errors leave the store as StoreError so callers need only our hierarchy.
            raise StoreError(f"PostgreSQL: {exc}") from exc
        finally:
            self._release(conn)

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """Run a transaction; its notifications are sent inside it, just before COMMIT."""
        started = time.perf_counter()
        with self._conn() as conn, conn.transaction():
            tx = PgTx(conn, self.queries)
            yield tx
            for channel in sorted(tx.channels):
                tx.raw("SELECT pg_notify(%(c)s, %(p)s)", {"c": self.channel, "p": channel})
        if tx.on_commit or self.write_observer is not None:
            self.committed(tx, started)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Run reads on a pooled connection (autocommit: each statement sees the latest commits)."""
        with self._conn() as conn:
            yield PgTx(conn, self.queries)

    def send(self, channel: str) -> None:
        """Notify ``channel`` outside any transaction."""
        with self._conn() as conn:
            conn.execute("SELECT pg_notify(%s, %s)", (self.channel, channel))

    def dump_schema(self) -> str:
        """Return columns and indexes of the store's schema, sorted."""
        with self.read() as tx:
            cols = tx.raw(
                "SELECT table_name, column_name, data_type, is_nullable, column_default "
                "FROM information_schema.columns WHERE table_schema = current_schema() "
                "ORDER BY table_name, column_name"
            )
            idx = tx.raw(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY indexname"
            )
        lines = [
            f"column {c['table_name']}.{c['column_name']}: {c['data_type']} "
            f"nullable={c['is_nullable']} default={c['column_default']}"
            for c in cols
        ]
        schema = self.schema or "public"
        lines += [f"index {i['indexname']}: {i['indexdef'].replace(schema + '.', '')}" for i in idx]
        return "\n".join(lines)

    def close(self) -> None:
        """Stop the listener and close pooled connections."""
        with self._lock:
            if self._closed:
                return
        self.notifier.close()  # before the pool closes: it sends its stop notification through it
        with self._lock:
            self._closed = True
        while True:
            try:
                self._pool.get_nowait().close()
            except queue.Empty:
                break


def _redact(url: str) -> str:
    """Hide a password in a connection URL before it reaches an error message."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)
