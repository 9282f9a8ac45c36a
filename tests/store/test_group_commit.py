"""Acknowledged means durable: SQLite synchronous=FULL with group commit, NORMAL as an option, PostgreSQL on.

The group-commit cases drive a real SQLite database from several threads. A writer that holds the write
connection inside its block (waiting on an event the test controls) makes the others queue, so which writers
share a transaction is decided by the test, not by timing; a second, independent SQLite connection shows what
is committed.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.store.conftest import PG_URL, drop_schema, require_pg
from tests.store.helpers import wait_until
from tidegate.errors import ConfigurationError, StoreError
from tidegate.mq._common import database_of
from tidegate.store import Store, open_store
from tidegate.store._db import Synchronous, Tx, load_queries
from tidegate.store.sqlite import SqliteDatabase

WAIT_S = 30.0  # margins for a loaded 2-core machine: every wait ends as soon as its condition holds


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    """A FULL database whose groups close only when no writer waits (no time cap to race with)."""
    d = SqliteDatabase(tmp_path / "g.db", load_queries("sqlite", "workflow"), group_max_s=3600)
    with d.write() as tx:
        tx.raw("CREATE TABLE t (v INTEGER NOT NULL)")
        tx.raw("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        tx.raw("CREATE TABLE child (p INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    yield d
    d.close()


def committed(d: SqliteDatabase, table: str = "t") -> list[int]:
    """The values committed in ``table``, read through a connection of its own (sees only commits)."""
    conn = sqlite3.connect(d.path)
    try:
        return sorted(r[0] for r in conn.execute(f"SELECT * FROM {table}"))
    finally:
        conn.close()


class Writer(threading.Thread):
    """A thread running one ``write()`` whose block calls ``body(tx)``; records its outcome."""

    def __init__(self, d: SqliteDatabase, body: Callable[[Tx], object]) -> None:
        super().__init__(daemon=True)
        self.d, self.body = d, body
        self.entered = threading.Event()
        self.returned = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.d.write() as tx:
                self.entered.set()
                self.body(tx)
        except BaseException as exc:
            self.error = exc
        self.returned.set()


def insert(v: int, then: Callable[[], object] | None = None, notify: str | None = None) -> Callable[[Tx], object]:
    def body(tx: Tx) -> None:
        tx.raw("INSERT INTO t (v) VALUES (:v)", {"v": v})
        if notify is not None:
            tx.notify(notify)
        if then is not None:
            then()

    return body


def hold(d: SqliteDatabase, v: int) -> tuple[Writer, threading.Event]:
    """Start a writer that inserts ``v`` and keeps the write connection until the returned event is set."""
    go = threading.Event()
    w = Writer(d, insert(v, then=lambda: go.wait(WAIT_S)))
    w.start()
    assert w.entered.wait(WAIT_S)
    return w, go


def queued(d: SqliteDatabase, n: int) -> None:
    """Wait until ``n`` writers wait for the write connection."""
    assert wait_until(lambda: d._want == n, WAIT_S), f"{d._want} writers waiting, expected {n}"


def finish(*writers: Writer) -> None:
    for w in writers:
        w.join(WAIT_S)
        assert not w.is_alive()


# --- the setting ---------------------------------------------------------------------------------------


def synchronous_of(store: Store) -> tuple[int, int]:
    """PRAGMA synchronous of the write connection and of this thread's read connection."""
    d = database_of(store)
    with d.write() as tx:
        w = tx.raw("PRAGMA synchronous")[0]["synchronous"]
    with d.read() as tx:
        r = tx.raw("PRAGMA synchronous")[0]["synchronous"]
    return w, r


def test_sqlite_is_full_by_default_and_normal_on_request(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as s:
        assert synchronous_of(s) == (2, 2)  # FULL
        assert database_of(s).synchronous is Synchronous.FULL and not database_of(s).fast_commit
    with open_store(f"sqlite:///{tmp_path / 'b.db'}?synchronous=normal") as s:
        assert synchronous_of(s) == (1, 1)  # NORMAL
        assert database_of(s).fast_commit
        assert (tmp_path / "b.db").exists()  # the parameter is not part of the file name
    with open_store(f"sqlite:///{tmp_path / 'c.db'}?synchronous=FULL") as s:
        assert synchronous_of(s) == (2, 2)
    with open_store(f"sqlite:///{tmp_path / 'd.db'}", synchronous="normal") as s:
        assert synchronous_of(s) == (1, 1)


@pytest.mark.parametrize(
    ("suffix", "message"),
    [
        ("?synchronous=off", "synchronous='off': use 'full' or 'normal'"),
        ("?synchronous=", "synchronous='': use 'full' or 'normal'"),
        ("?synchronous=extra", "use 'full' or 'normal'"),
        ("?journal_mode=delete", "unknown SQLite store URL parameter 'journal_mode'"),
        ("?synchronous=full&synchronous=normal", "is given twice"),
    ],
)
def test_sqlite_refuses_unknown_parameters(tmp_path: Path, suffix: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        open_store(f"sqlite:///{tmp_path / 'x.db'}{suffix}")
    assert not (tmp_path / "x.db").exists()


def test_sqlite_refuses_postgres_options(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no option 'pool_size'"):
        open_store(f"sqlite:///{tmp_path / 'x.db'}", pool_size=3)


def test_postgres_commits_synchronously_and_refuses_weaker() -> None:
    require_pg()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with open_store(f"{PG_URL}?schema={schema}&synchronous=full") as s:
            d = database_of(s)
            assert d.synchronous is Synchronous.FULL and not d.fast_commit
            with d.write() as tx:
                assert tx.raw("SHOW synchronous_commit")[0]["synchronous_commit"] == "on"
            with d.read() as tx:
                assert tx.raw("SHOW synchronous_commit")[0]["synchronous_commit"] == "on"
    finally:
        drop_schema(schema)
    with pytest.raises(ConfigurationError, match="for SQLite only"):
        open_store(f"{PG_URL}?synchronous=normal")
    with pytest.raises(ConfigurationError, match="use 'full' or 'normal'"):
        open_store(f"{PG_URL}?synchronous=off")
    with pytest.raises(ConfigurationError, match="remove synchronous_commit"):
        open_store(f"{PG_URL}?options=-c%20synchronous_commit%3Doff")


# --- group commit ---------------------------------------------------------------------------------------


def test_concurrent_writers_all_commit(store: Store) -> None:
    """Both backends: every write of many threads is committed and visible once its call returned."""
    errors: list[str] = []

    def worker(k: int) -> None:
        for i in range(10):
            key = f"w{k}-{i}"
            store.put_setting_if_absent(key, str(i))
            if store.get_setting(key) != str(i):
                errors.append(key)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT_S * 2)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert all(store.get_setting(f"w{k}-{i}") == str(i) for k in range(12) for i in range(10))


def test_writers_that_queue_share_one_commit(db: SqliteDatabase) -> None:
    commits = db.commits
    first, go = hold(db, 0)
    others = [Writer(db, insert(v)) for v in range(1, 9)]
    for w in others:
        w.start()
    queued(db, len(others))
    go.set()
    finish(first, *others)
    assert [w.error for w in (first, *others)] == [None] * 9
    assert committed(db) == list(range(9))
    assert db.commits == commits + 1  # nine acknowledged writes, one commit (one fsync)


def test_a_writer_returns_only_after_the_commit_that_includes_it(db: SqliteDatabase) -> None:
    seq = db.notifier.seq()
    first, go_first = hold(db, 1)
    go_second = threading.Event()
    second = Writer(db, insert(2, then=lambda: go_second.wait(WAIT_S), notify="c"))
    second.start()
    queued(db, 1)
    go_first.set()
    # The first writer's block has ended and handed the open transaction to the second, which now holds it:
    # the first is not acknowledged yet, its row is not committed, no notification was sent.
    assert second.entered.wait(WAIT_S)
    assert not first.returned.is_set()
    assert committed(db) == []
    assert not db.notifier.wait("c", 0, since=seq)
    go_second.set()
    finish(first, second)
    assert (first.error, second.error) == (None, None)
    assert committed(db) == [1, 2]
    assert db.notifier.wait("c", 0, since=seq)  # sent once the commit covered it


def test_an_exception_rolls_back_only_its_writer(db: SqliteDatabase) -> None:
    def fail(tx: Tx) -> None:
        tx.raw("INSERT INTO t (v) VALUES (99)")
        raise ValueError("this writer's own mistake")

    commits = db.commits
    first, go = hold(db, 1)
    bad, good = Writer(db, fail), Writer(db, insert(2))
    bad.start()
    good.start()
    queued(db, 2)
    go.set()
    finish(first, bad, good)
    assert isinstance(bad.error, ValueError) and str(bad.error) == "this writer's own mistake"
    assert (first.error, good.error) == (None, None)
    assert committed(db) == [1, 2]
    assert db.commits == commits + 1


def test_a_lone_failing_writer_leaves_nothing(db: SqliteDatabase) -> None:
    with pytest.raises(StoreError, match="SQLite: NOT NULL constraint failed"), db.write() as tx:
        tx.raw("INSERT INTO t (v) VALUES (5)")
        tx.raw("INSERT INTO t (v) VALUES (NULL)")
    assert committed(db) == []
    with db.write() as tx:  # the connection is usable again
        tx.raw("INSERT INTO t (v) VALUES (6)")
    assert committed(db) == [6]


def test_a_failed_commit_reaches_every_member(db: SqliteDatabase) -> None:
    db._writer.execute("PRAGMA foreign_keys=ON")  # checked at COMMIT for the deferred reference
    first, go = hold(db, 1)
    orphan = Writer(db, lambda tx: tx.raw("INSERT INTO child (p) VALUES (42)"))
    orphan.start()
    queued(db, 1)
    go.set()
    finish(first, orphan)
    for w in (first, orphan):
        assert isinstance(w.error, StoreError) and "commit failed: FOREIGN KEY constraint failed" in str(w.error)
    assert committed(db) == [] and committed(db, "child") == []
    with db.write() as tx:  # the next group starts afresh
        tx.raw("INSERT INTO t (v) VALUES (3)")
    assert committed(db) == [3]


def test_a_group_closes_at_its_member_cap(tmp_path: Path) -> None:
    d = SqliteDatabase(tmp_path / "cap.db", load_queries("sqlite", "workflow"), group_max_members=3, group_max_s=3600)
    try:
        with d.write() as tx:
            tx.raw("CREATE TABLE t (v INTEGER NOT NULL)")
        commits = d.commits
        first, go = hold(d, 0)
        others = [Writer(d, insert(v)) for v in range(1, 6)]
        for w in others:
            w.start()
        queued(d, 5)
        go.set()
        finish(first, *others)
        assert committed(d) == list(range(6))
        assert d.commits == commits + 2  # six writers, at most three per commit
    finally:
        d.close()


def test_normal_commits_each_writer_alone(tmp_path: Path) -> None:
    d = SqliteDatabase(tmp_path / "n.db", load_queries("sqlite", "workflow"), Synchronous.NORMAL)
    try:
        with d.write() as tx:
            tx.raw("CREATE TABLE t (v INTEGER NOT NULL)")
        commits = d.commits
        first, go = hold(d, 0)
        others = [Writer(d, insert(v)) for v in range(1, 4)]
        for w in others:
            w.start()
        queued(d, 3)
        go.set()
        finish(first, *others)
        assert committed(d) == list(range(4))
        assert d.commits == commits + 4  # no fsync to share
    finally:
        d.close()


def test_close_commits_a_group_handed_to_it(db: SqliteDatabase) -> None:
    first, go = hold(db, 7)
    closer = threading.Thread(target=db.close)
    closer.start()
    queued(db, 1)
    go.set()
    finish(first)
    closer.join(WAIT_S)
    assert not closer.is_alive()
    assert first.error is None
    assert committed(db) == [7]
    with pytest.raises(StoreError, match="closed"), db.write():
        pass
