"""PostgreSQL connections, transactions and LISTEN/NOTIFY.

Connections come from a :class:`psycopg_pool.ConnectionPool` (autocommit connections; each write opens an
explicit transaction). ``schema`` isolates a store inside one database (tests use a fresh schema each):
every connection sets ``search_path`` to it, and the schema is created on open.

Health: a pooled connection is checked when it is handed out. The check costs no round trip while the
connection is healthy (its socket has nothing to read); a backend that was terminated (a PostgreSQL restart,
``pg_terminate_backend``) has left its farewell on the socket, and such a connection is replaced instead of
failing the request.

Round trips: a write transaction runs in pipeline mode. ``BEGIN``, statements whose results nobody reads
(:meth:`Tx.many`, bulk inserts), the notifications and ``COMMIT`` travel together with the next statement
whose rows are needed; statements are prepared on the server after their second use on a connection.

Durability: every connection sets ``synchronous_commit = on`` whatever the server's or role's default, so a
write is acknowledged only once its commit is flushed to the WAL on disk (and, with synchronous replicas
configured, once they have it). A connection URL that tries to weaken it (``options=-c
synchronous_commit=...``) is refused.

Notifications: channels other servers care about (an execution's end, a queue's messages) travel on one
PostgreSQL channel per schema with the logical channel name as payload; ``pg_notify`` runs inside the
committing transaction, so a waiter can only be woken after the data it waits for is visible. The work
channels (:data:`~tidegate.store.notify.LOCAL_CHANNELS`) wake this process only, after COMMIT: the server that
queued the work does it, and the others find whatever is left within their one-second wait.
"""

from __future__ import annotations

import re
import select
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import Any

from tidegate.errors import ConfigurationError, ConflictError, StoreError, StoreUnavailable
from tidegate.store.database import Database, Params, Tx
from tidegate.store.notify import LOCAL_CHANNELS
from tidegate.store.postgres.listen import PgNotifier

try:  # psycopg is optional: only the PostgreSQL backend needs it.
    import psycopg
    from psycopg import sql as pgsql
    from psycopg.conninfo import conninfo_to_dict
    from psycopg.rows import dict_row
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as exc:  # pragma: no cover - exercised only without the extra installed
    raise ConfigurationError(
        "The PostgreSQL store needs psycopg 3 and psycopg-pool: run \"pip install 'tidegate[postgres]'\" "
        "(or \"pip install 'psycopg[binary]' psycopg-pool\")."
    ) from exc


POOL_TIMEOUT_S = 60
#: How long the first connection may take before the store is refused as unreachable.
CONNECT_TIMEOUT_S = 10
#: A statement is prepared on the server the second time a connection runs it (psycopg's default is 5).
PREPARE_THRESHOLD = 1
_NOTIFY_ALL = "SELECT pg_notify(%(c)s, p) FROM unnest(%(p)s::text[]) AS p"


def check_connection(conn: Any) -> None:
    """The pool's check: free while the socket is quiet; a real round trip when something arrived.

    An idle connection receives nothing unless the server is ending it (an ``ErrorResponse`` before the
    close), so a readable socket means it is probably dead: psycopg's own check then decides.

    Raises:
        psycopg.Error: the connection is not usable (the pool replaces it).
    """
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


class PgTx(Tx):
    """A transaction on one pooled connection; in pipeline mode when ``pipeline`` is given.

    In pipeline mode a statement whose rows are read (:meth:`raw`, :meth:`raw_count`, :meth:`raw_each`) waits
    for its answer and for everything sent before it; :meth:`raw_many` and bulk inserts do not wait, so their
    errors surface at the next such statement, at :meth:`flush` or at COMMIT (the transaction then rolls back).
    """

    def __init__(
        self, conn: Any, queries: dict[str, str], pipeline: Any = None, stack: ExitStack | None = None
    ) -> None:
        super().__init__(queries)
        self._cur = conn.cursor()
        self._pipeline = pipeline  # psycopg's Pipeline, entered in ``stack`` before the transaction began
        self._stack = stack

    def array(self, values: Sequence[Any]) -> Any:
        """psycopg adapts a list to a PostgreSQL array."""
        return list(values)

    def raw(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        """Run SQL and return its rows (in pipeline mode: one round trip, with everything queued before)."""
        self._cur.execute(sql, params)
        if self._pipeline is not None:
            self._pipeline.sync()
        return list(self._cur.fetchall()) if self._cur.description is not None else []

    def raw_count(self, sql: str, params: Params | None = None) -> int:
        """Run SQL and return the changed row count."""
        self._cur.execute(sql, params)
        if self._pipeline is not None:
            self._pipeline.sync()
        return int(self._cur.rowcount)

    def raw_many(self, sql: str, params: list[Params]) -> None:
        """Run SQL once per parameter set; in pipeline mode the results are not waited for here."""
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
        """Pipelined INSERTs in a pipeline (COPY cannot run there); else COPY, fastest for big batches."""
        if self._pipeline is not None:
            stmt = pgsql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                pgsql.Identifier(table),
                pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns),
                pgsql.SQL(", ").join(pgsql.Placeholder() for _ in columns),
            )
            self._cur.executemany(stmt, rows)
            return
        stmt = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
            pgsql.Identifier(table), pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns)
        )
        with self._cur.copy(stmt) as copy:
            for row in rows:
                copy.write_row(row)

    def flush(self) -> None:
        """Raise now any error of the statements sent but not yet answered."""
        if self._pipeline is not None:
            self._pipeline.sync()

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
        # Whatever the server's default: a commit returns only once it is on disk (set at connect time).
        options = " ".join(o for o in (given, "-c synchronous_commit=on") if o)
        if schema is not None:
            options += f" -c search_path={schema}"
        self._kwargs: dict[str, Any] = {
            "autocommit": True,
            "row_factory": dict_row,
            "options": options,
            "prepare_threshold": PREPARE_THRESHOLD,
        }
        try:
            # One plain connection first: an unreachable server or a refused login fails here at once with
            # libpq's own message, where the pool would retry in the background until its timeout.
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                if schema is not None:
                    conn.execute(pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pgsql.Identifier(schema)))
            self._pool: ConnectionPool[Any] = ConnectionPool(
                url,
                kwargs=self._kwargs,
                min_size=1,
                max_size=pool_size,
                check=check_connection,
                timeout=POOL_TIMEOUT_S,
                name=self.channel,
                open=False,
            )
            self._pool.open(wait=True, timeout=POOL_TIMEOUT_S)
            self.notifier: PgNotifier = PgNotifier(self._connect, self.channel, self.send)
        except (psycopg.Error, PoolTimeout) as exc:
            self._pool_close()
            raise StoreUnavailable(f"PostgreSQL: cannot open {_redact(url)}: {exc}") from exc

    def _pool_close(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()

    def _connect(self) -> Any:
        """A connection of its own (the LISTEN connection), set up like the pooled ones."""
        return psycopg.connect(self.url, **self._kwargs)

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        if self._closed:
            raise StoreError("the store is closed")
        try:
            with self._pool.connection() as conn:
                try:
                    yield conn
                except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
                    raise ConflictError(f"PostgreSQL: {exc}") from exc  # retryable, like a version conflict
        except PoolTimeout:
            raise StoreError(f"no free PostgreSQL connection after {POOL_TIMEOUT_S} s") from None
        except psycopg.Error as exc:
            # Driver errors leave the store as StoreError so callers need only our hierarchy.
            raise StoreError(f"PostgreSQL: {exc}") from exc

    @contextmanager
    def write(self) -> Iterator[Tx]:
        """Run a transaction in pipeline mode; shared notifications are sent inside it, just before COMMIT,
        and this process's own (:data:`LOCAL_CHANNELS`) once it has committed."""
        with self._write(pipelined=True) as tx:
            yield tx

    def script_write(self) -> AbstractContextManager[Tx]:
        """A transaction out of pipeline mode: a script's several statements need the simple protocol."""
        return self._write(pipelined=False)

    @contextmanager
    def _write(self, *, pipelined: bool) -> Iterator[Tx]:
        started = time.perf_counter()
        with self._conn() as conn, ExitStack() as stack:
            # In a pipeline, BEGIN travels with the first statement.
            pipeline = stack.enter_context(conn.pipeline()) if pipelined else None
            with conn.transaction():
                tx = PgTx(conn, self.queries, pipeline)
                yield tx
                shared = sorted(c for c in tx.channels if c not in LOCAL_CHANNELS)
                if shared:
                    tx.raw_many(_NOTIFY_ALL, [{"c": self.channel, "p": shared}])
        local = tx.channels & LOCAL_CHANNELS
        if local:
            self.notifier.notify_here(local)
        if tx.on_commit or self.write_observer is not None:
            self.committed(tx, started)

    @contextmanager
    def read(self) -> Iterator[Tx]:
        """Run reads on a pooled connection (autocommit: each statement sees the latest commits)."""
        with self._conn() as conn:
            yield PgTx(conn, self.queries)

    def send(self, channel: str) -> None:
        """Notify ``channel`` outside any transaction (through PostgreSQL: every process sharing it)."""
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
        """Stop the listener and close the pool."""
        if self._closed:
            return
        self.notifier.close()  # before the pool closes: it sends its stop notification through it
        self._closed = True
        self._pool_close()


def _redact(url: str) -> str:
    """Hide a password in a connection URL before it reaches an error message."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)
