"""Acknowledged means durable: SQLite synchronous=full with group commit, normal as an option, PostgreSQL on.

The group-commit cases drive a real SQLite database from several threads. The test holds the WAL flusher's
gate (it is taken around every sync), so which commits share a sync is decided by the test, not by timing; a
second, independent SQLite connection shows what is committed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.stores import PG_URL, drop_schema, require_pg
from tests.waiting import wait_until
from tidegate.errors import ConfigurationError, StoreError
from tidegate.store import Store, open_store
from tidegate.store.database import Synchronous, Tx, load_queries
from tidegate.store.sqlite import SqliteDatabase

WAIT_S = 30.0  # margins for a loaded 2-core machine: every wait ends as soon as its condition holds


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    """A database with synchronous=full and the tables the cases write."""
    d = SqliteDatabase(tmp_path / "g.db", load_queries("sqlite", "workflow"))
    with d.write() as tx:
        tx.raw("CREATE TABLE t (v INTEGER NOT NULL)")
    yield d
    d.close()


def committed(d: SqliteDatabase) -> list[int]:
    """The values committed in ``t``, read through a connection of its own (sees only commits)."""
    conn = sqlite3.connect(d.path)
    try:
        return sorted(r[0] for r in conn.execute("SELECT v FROM t"))
    finally:
        conn.close()


class Writer(threading.Thread):
    """A thread running one ``write()`` whose block calls ``body(tx)``; records its outcome."""

    def __init__(self, d: SqliteDatabase, body: Callable[[Tx], object]) -> None:
        super().__init__(daemon=True)
        self.d, self.body = d, body
        self.returned = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.d.write() as tx:
                self.body(tx)
        except BaseException as exc:
            self.error = exc
        self.returned.set()


def insert(v: int, notify: str | None = None) -> Callable[[Tx], object]:
    def body(tx: Tx) -> None:
        tx.raw("INSERT INTO t (v) VALUES (:v)", {"v": v})
        if notify is not None:
            tx.notify(notify)

    return body


def gate(d: SqliteDatabase) -> threading.Lock:
    flusher = d._flusher
    assert flusher is not None
    return flusher.gate


def finish(*writers: Writer) -> None:
    for w in writers:
        w.join(WAIT_S)
        assert not w.is_alive()


# --- the setting ---------------------------------------------------------------------------------------


def synchronous_of(store: Store) -> tuple[Synchronous, int]:
    """The store's setting, and how many WAL syncs one write caused."""
    d = store.database
    assert isinstance(d, SqliteDatabase)
    before = d.syncs
    store.put_setting_if_absent("k", "v")
    return d.synchronous, d.syncs - before


def test_sqlite_is_full_by_default_and_normal_on_request(tmp_path: Path) -> None:
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as s:
        assert synchronous_of(s) == (Synchronous.FULL, 1)  # the write waited for one WAL sync
    with open_store(f"sqlite:///{tmp_path / 'b.db'}?synchronous=normal") as s:
        assert synchronous_of(s) == (Synchronous.NORMAL, 0)
        assert (tmp_path / "b.db").exists()  # the parameter is not part of the file name
    with open_store(f"sqlite:///{tmp_path / 'c.db'}?synchronous=FULL") as s:
        assert synchronous_of(s) == (Synchronous.FULL, 1)
    with open_store(f"sqlite:///{tmp_path / 'd.db'}", synchronous="normal") as s:
        assert synchronous_of(s) == (Synchronous.NORMAL, 0)


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
            d = s.database
            assert d.synchronous is Synchronous.FULL
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


def test_commits_waiting_for_the_disk_share_one_sync(db: SqliteDatabase) -> None:
    seq = db.notifier.seq()
    syncs = db.syncs
    with gate(db):  # no sync can start: every commit below waits for the same next one
        writers = [Writer(db, insert(v, notify="c")) for v in range(8)]
        for w in writers:
            w.start()
        wait_until(lambda: committed(db) == list(range(8)), timeout=WAIT_S)
        # Committed (another connection sees the rows) but not on disk yet: nobody is acknowledged, and the
        # notification is not sent.
        assert not any(w.returned.is_set() for w in writers)
        assert not db.notifier.wait("c", 0, since=seq)
    finish(*writers)
    assert [w.error for w in writers] == [None] * 8
    assert db.syncs == syncs + 1  # eight acknowledged writes, one fsync
    assert db.notifier.wait("c", 0, since=seq)


def test_a_write_returns_only_after_a_sync_that_began_after_its_commit(db: SqliteDatabase) -> None:
    syncs = db.syncs
    with gate(db):
        first = Writer(db, insert(1))
        first.start()
        wait_until(lambda: committed(db) == [1], timeout=WAIT_S)
        assert not first.returned.is_set()
    finish(first)
    assert first.error is None and db.syncs == syncs + 1
    with db.write() as tx:  # a lone writer: its own sync
        tx.raw("INSERT INTO t (v) VALUES (2)")
    assert db.syncs == syncs + 2 and committed(db) == [1, 2]


def test_an_exception_rolls_back_only_its_writer(db: SqliteDatabase) -> None:
    def fail(tx: Tx) -> None:
        tx.raw("INSERT INTO t (v) VALUES (99)")
        raise ValueError("this writer's own mistake")

    with gate(db):
        writers = [Writer(db, insert(1)), Writer(db, fail), Writer(db, insert(2))]
        for w in writers:
            w.start()
        wait_until(lambda: committed(db) == [1, 2] and writers[1].returned.is_set(), timeout=WAIT_S)
    finish(*writers)
    assert isinstance(writers[1].error, ValueError) and str(writers[1].error) == "this writer's own mistake"
    assert (writers[0].error, writers[2].error) == (None, None)
    assert committed(db) == [1, 2]


def test_a_failing_writer_leaves_nothing_and_the_connection_usable(db: SqliteDatabase) -> None:
    with pytest.raises(StoreError, match="SQLite: NOT NULL constraint failed"), db.write() as tx:
        tx.raw("INSERT INTO t (v) VALUES (5)")
        tx.raw("INSERT INTO t (v) VALUES (NULL)")
    assert committed(db) == []
    with db.write() as tx:
        tx.raw("INSERT INTO t (v) VALUES (6)")
    assert committed(db) == [6]


def test_a_read_waits_for_the_commits_it_may_have_seen(db: SqliteDatabase) -> None:
    with gate(db):
        w = Writer(db, insert(3))
        w.start()
        wait_until(lambda: committed(db) == [3], timeout=WAIT_S)
        seen: list[int] = []
        done = threading.Event()

        def reader() -> None:
            with db.read() as tx:
                seen.extend(r["v"] for r in tx.raw("SELECT v FROM t"))
            done.set()

        r = threading.Thread(target=reader, daemon=True)
        r.start()
        wait_until(lambda: seen == [3], timeout=WAIT_S)  # it read the commit ...
        assert not done.is_set()  # ... and does not return before the commit is on disk
        with db.acknowledge_later(), db.read() as tx:  # an event loop's read does not block
            assert [x["v"] for x in tx.raw("SELECT v FROM t")] == [3]
    finish(w)
    r.join(WAIT_S)
    assert done.is_set()


def test_acknowledge_later_returns_at_commit_and_durable_waits(db: SqliteDatabase) -> None:
    async def scenario() -> tuple[bool, bool]:
        loop = asyncio.get_running_loop()
        with gate(db):
            with db.acknowledge_later(), db.write() as tx:  # returns although the gate blocks every sync
                tx.raw("INSERT INTO t (v) VALUES (4)")
            waiting = loop.create_task(db.durable())
            pending = not waiting.done()  # it cannot be done while the gate blocks every sync
        await asyncio.wait_for(waiting, WAIT_S)
        return pending, waiting.done()

    assert asyncio.run(scenario()) == (True, True)
    assert committed(db) == [4]


def test_a_failed_sync_fails_its_writers_and_every_later_write(db: SqliteDatabase) -> None:
    flusher = db._flusher
    assert flusher is not None
    with gate(db):
        w = Writer(db, insert(1))
        w.start()
        wait_until(lambda: committed(db) == [1], timeout=WAIT_S)
        flusher.wal_path = str(Path(db.path).parent / "missing" / "x-wal")  # the next sync cannot open it
        flusher._fd = None
    finish(w)
    assert isinstance(w.error, StoreError) and "commits since are not durable" in str(w.error)
    with pytest.raises(StoreError, match="not durable"), db.write():
        pass


def test_normal_does_not_sync(tmp_path: Path) -> None:
    d = SqliteDatabase(tmp_path / "n.db", load_queries("sqlite", "workflow"), Synchronous.NORMAL)
    try:
        seq = d.notifier.seq()
        with d.write() as tx:
            tx.raw("CREATE TABLE t (v INTEGER NOT NULL)")
            tx.notify("c")
        assert d.notifier.wait("c", 0, since=seq)  # notified at commit
        assert d.syncs == 0 and d._flusher is None
    finally:
        d.close()


def test_close_syncs_what_is_committed(db: SqliteDatabase) -> None:
    with db.acknowledge_later(), db.write() as tx:
        tx.raw("INSERT INTO t (v) VALUES (7)")
    syncs = db.syncs
    db.close()
    assert db.syncs == syncs + 1
    assert committed(db) == [7]
    with pytest.raises(StoreError, match="closed"), db.write():
        pass
