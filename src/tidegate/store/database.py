"""The small database layer under the domain stores: transactions, named queries, migrations.

A :class:`Database` hands out :class:`Tx` objects inside ``write()`` (one serialisable-enough write
transaction: ``BEGIN IMMEDIATE`` on SQLite, a pooled connection on PostgreSQL) and ``read()``. Domain code
calls queries by name, so SQL stays in ``.sql`` files and dialect differences stay in those files plus a
few hooks here. A later domain (the message queue) adds its own query file and migrations and builds on
the same ``Database``.
"""

from __future__ import annotations

import enum
import functools
import logging
import re
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from importlib import resources
from typing import Any

from tidegate.errors import ConfigurationError, StoreError
from tidegate.store.notify import Notifier

Params = Mapping[str, Any]
_NAME_RE = re.compile(r"^--\s*name:\s*(\w+)\s*$")
_PARAM_RE = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def load_queries(dialect: str, domain: str) -> dict[str, str]:
    """Load ``sql/<domain>.sql`` overridden by ``<dialect>/<domain>.sql``, in the dialect's param style.

    The files are read and parsed once per process; each caller gets its own copy of the mapping.
    """
    return dict(_load_queries(dialect, domain))


@functools.cache
def _load_queries(dialect: str, domain: str) -> dict[str, str]:
    base = resources.files("tidegate.store")
    queries = _parse((base / "sql" / f"{domain}.sql").read_text(encoding="utf-8"))
    override = base / dialect / f"{domain}.sql"
    if override.is_file():
        queries.update(_parse(override.read_text(encoding="utf-8")))
    if dialect == "postgres":
        queries = {k: _pyformat(v) for k, v in queries.items()}
    return queries


def _pyformat(sql: str) -> str:
    """Rewrite ``:name`` parameters in psycopg's named style ``%(name)s`` (a literal % is doubled)."""
    return _PARAM_RE.sub(r"%(\1)s", sql.replace("%", "%%"))


def _parse(text: str) -> dict[str, str]:
    queries: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    for line in [*text.splitlines(), "-- name: __end__"]:
        match = _NAME_RE.match(line)
        if match:
            if name is not None:
                queries[name] = "\n".join(lines).strip().rstrip(";")
            name, lines = match.group(1), []
        elif name is not None and not line.lstrip().startswith("--"):
            lines.append(line)
    return queries


class Tx(ABC):
    """One open transaction. Notifications requested here are sent only if it commits."""

    def __init__(self, queries: Mapping[str, str]) -> None:
        self._queries = queries
        self.channels: set[str] = set()
        #: Called, in order, after the transaction committed (a write's observers; see :meth:`Database.committed`).
        self.on_commit: list[Callable[[], None]] = []

    def sql(self, name: str) -> str:
        """Return the SQL of a named query."""
        try:
            return self._queries[name]
        except KeyError:
            raise StoreError(f"no query named {name!r}") from None

    def one(self, name: str, params: Params | None = None) -> dict[str, Any] | None:
        """Run a named query and return its first row, or None."""
        rows = self.all(name, params)
        return rows[0] if rows else None

    def all(self, name: str, params: Params | None = None) -> list[dict[str, Any]]:
        """Run a named query and return every row."""
        return self.raw(self.sql(name), params)

    def run(self, name: str, params: Params | None = None) -> int:
        """Run a named statement and return the number of rows it changed."""
        return self.raw_count(self.sql(name), params)

    def many(self, name: str, params: Iterable[Params]) -> None:
        """Run a named statement once per parameter set."""
        batch = list(params)
        if batch:
            self.raw_many(self.sql(name), batch)

    def each(self, name: str, params: Sequence[Params]) -> list[dict[str, Any] | None]:
        """Run a named query once per parameter set; return each run's first row (or None)."""
        return self.raw_each(self.sql(name), list(params)) if params else []

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk-insert rows (PostgreSQL uses COPY); ``table``/``columns`` are constants, never input."""
        if rows:
            self.raw_insert_rows(table, columns, rows)

    def raw_insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Bulk-insert rows with a plain executemany."""
        names = {c: f"c{i}" for i, c in enumerate(columns)}
        values = ", ".join(":" + n for n in names.values())
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({values})"
        self.raw_many(sql, [dict(zip(names.values(), row, strict=True)) for row in rows])

    def notify(self, channel: str) -> None:
        """Notify ``channel`` after a successful commit."""
        self.channels.add(channel)

    def flush(self) -> None:  # noqa: B027 - a no-op where statements are answered at once
        """Raise now the error of any statement sent earlier in this transaction whose answer was not read.

        A backend that pipelines statements (PostgreSQL) answers :meth:`many` and bulk inserts later; a caller
        that handles a failure mid-transaction (under a savepoint) calls this before leaving its ``try``.
        """

    @abstractmethod
    def array(self, values: Sequence[Any]) -> Any:
        """Return a list parameter in the dialect's form (JSON text or a native array)."""

    @abstractmethod
    def raw(self, sql: str, params: Params | None = None) -> list[dict[str, Any]]:
        """Run SQL and return its rows (empty for statements without a result)."""

    @abstractmethod
    def raw_count(self, sql: str, params: Params | None = None) -> int:
        """Run SQL and return the changed row count."""

    @abstractmethod
    def raw_many(self, sql: str, params: list[Params]) -> None:
        """Run SQL once per parameter set."""

    def raw_each(self, sql: str, params: list[Params]) -> list[dict[str, Any] | None]:
        """Run SQL once per parameter set and return each first row; backends may pipeline this."""
        out: list[dict[str, Any] | None] = []
        for p in params:
            rows = self.raw(sql, p)
            out.append(rows[0] if rows else None)
        return out

    @abstractmethod
    def script(self, sql: str) -> None:
        """Run a parameterless multi-statement script (migrations)."""

    @abstractmethod
    def lock_migrations(self) -> None:
        """Serialise migration runs across processes for the rest of this transaction."""


class Synchronous(enum.StrEnum):
    """When a write transaction is acknowledged (the ``synchronous`` store URL parameter).

    ``FULL`` (the default): after the commit reached the disk (fsync), so it survives a power loss or an OS
    crash. ``NORMAL`` (SQLite only): after the commit reached the operating system, so it survives the
    process being killed but not a power loss or an OS crash.
    """

    FULL = "full"
    NORMAL = "normal"

    @classmethod
    def parse(cls, value: str) -> Synchronous:
        """Read the URL parameter's value (case-insensitive).

        Raises:
            ConfigurationError: any other value.
        """
        try:
            return cls(value.strip().lower())
        except ValueError:
            choices = " or ".join(repr(m.value) for m in cls)
            raise ConfigurationError(f"synchronous={value!r}: use {choices}") from None


class Database(ABC):
    """Connections, transactions and notifications of one backend."""

    dialect: str
    notifier: Notifier
    #: How commits are acknowledged (see :class:`Synchronous`).
    synchronous: Synchronous = Synchronous.FULL

    #: Called with each write transaction's duration in seconds (begin to acknowledged commit) once it has
    #: committed; the metrics' hook (docs/operations.md, Metrics). None: writes are not timed.
    write_observer: Callable[[float], None] | None = None

    def committed(self, tx: Tx, started: float) -> None:
        """Run what waits for ``tx``'s commit: its on-commit hooks, then the write observer (``started`` is
        the write's ``time.perf_counter()``). An observer's failure is logged, never raised: it is committed."""
        observer = self.write_observer
        try:
            for hook in tx.on_commit:
                hook()
            if observer is not None:
                observer(time.perf_counter() - started)
        except Exception:
            logging.getLogger("tidegate.store").exception("an observer of a committed write failed")

    def acknowledge_later(self) -> AbstractContextManager[None]:
        """Within this block, on this thread, ``write()`` returns once its transaction has committed without
        waiting for the commit to reach the disk, and reads do not wait for the commits they may see either.

        For an event loop, which must not block: it runs a request's store calls in this block, then awaits
        :meth:`durable` before it replies. Backends whose commit is durable when it returns ignore it.
        """
        return nullcontext()

    async def durable(self) -> None:
        """Return once every commit made so far is durable (at once where every commit already is).

        Raises:
            StoreError: the disk failed to sync; nothing committed since can be acknowledged.
        """
        return None

    @abstractmethod
    def write(self) -> AbstractContextManager[Tx]:
        """Open a write transaction; it commits when the block exits without an exception."""

    def script_write(self) -> AbstractContextManager[Tx]:
        """A write transaction in which :meth:`Tx.script` may run (the migrations'); default :meth:`write`."""
        return self.write()

    @abstractmethod
    def read(self) -> AbstractContextManager[Tx]:
        """Open a read-only unit of work."""

    @abstractmethod
    def dump_schema(self) -> str:
        """Return a normalised text description of the schema."""

    @abstractmethod
    def close(self) -> None:
        """Close every connection and stop background threads."""


# --- migrations -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Migration:
    """One numbered migration file of a dialect."""

    version: int
    name: str
    sql: str


_MIGRATION_RE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_BOOTSTRAP = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)"
)


def migrations(dialect: str) -> list[Migration]:
    """Return the dialect's migrations in version order."""
    folder = resources.files("tidegate.store") / "migrations" / dialect
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _MIGRATION_RE.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)


def migrate(db: Database, target: int | None = None, now_ms: int = 0) -> list[int]:
    """Apply the missing migrations up to ``target`` (default: all) in one transaction.

    Returns:
        The versions applied by this call.
    """
    applied_now: list[int] = []
    with db.script_write() as tx:
        tx.lock_migrations()
        tx.script(_BOOTSTRAP)
        done = {row["version"] for row in tx.raw("SELECT version FROM schema_migrations")}
        for m in migrations(db.dialect):
            if m.version in done or (target is not None and m.version > target):
                continue
            tx.script(m.sql)
            tx.raw_count(
                _style(
                    db.dialect,
                    "INSERT INTO schema_migrations (version, name, applied_ms) VALUES (:v, :n, :t)",
                ),
                {"v": m.version, "n": m.name, "t": now_ms},
            )
            applied_now.append(m.version)
    return applied_now


def applied_versions(db: Database) -> list[int]:
    """Return the applied migration versions in ascending order."""
    with db.read() as tx:
        return [r["version"] for r in tx.raw("SELECT version FROM schema_migrations ORDER BY version")]


def _style(dialect: str, sql: str) -> str:
    return _pyformat(sql) if dialect == "postgres" else sql


def iter_statements(script: str) -> Iterator[str]:
    """Split a script into statements at ``;`` line ends (our migrations keep one statement per ``;``)."""
    current: list[str] = []
    for line in script.splitlines():
        if line.lstrip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            stmt = "\n".join(current).strip()
            if stmt:
                yield stmt
            current = []
    tail = "\n".join(current).strip()
    if tail:
        yield tail
