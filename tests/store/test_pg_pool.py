"""The PostgreSQL store's connection pool and pipelined transactions, against the real server.

* Health: after every backend of a store was terminated (what a PostgreSQL restart does to them), the next
  requests succeed: the pool hands out no dead connection.
* Pipeline mode: a write whose answer is not waited for (``Tx.many``) still fails its transaction, whole;
  ``Tx.flush`` raises that error where a savepoint can handle it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from tests.store.helpers import make_flow, start
from tests.stores import PG_URL, pg_schema
from tidegate.errors import StoreError
from tidegate.store import Store, open_store

pytestmark = pytest.mark.postgres


@pytest.fixture
def named_store() -> Iterator[tuple[Store, str]]:
    """A PostgreSQL store whose connections carry an ``application_name`` of their own."""
    app = f"tg-test-{uuid.uuid4().hex[:12]}"
    with pg_schema("pool") as schema:
        store = open_store(f"{PG_URL}?schema={schema}&application_name={app}")
        try:
            yield store, app
        finally:
            store.close()


def _backends(admin: psycopg.Connection[tuple[int]], app: str) -> list[int]:
    rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", (app,)).fetchall()
    return [int(r[0]) for r in rows]


def test_terminated_backends_cost_no_failed_request(named_store: tuple[Store, str]) -> None:
    store, app = named_store
    make_flow(store)
    db = store.database
    with db.read(), db.read(), db.read():  # three pooled connections, idle again afterwards
        pass
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        before = _backends(admin, app)
        assert len(before) >= 4  # the three pooled connections and the LISTEN connection
        for pid in before:
            # Waits (up to 10 s) until the backend is gone, as after a restart of PostgreSQL.
            assert admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,)).fetchone() == (True,)
        # Every request after it succeeds, including ones that hold several connections at once.
        with db.read() as a, db.read() as b, db.read() as c:
            for tx in (a, b, c):
                assert tx.raw("SELECT 1 AS one") == [{"one": 1}]
        assert store.get_flow("flow1").name == "flow1"
        assert start(store, "after-restart").name == "after-restart"
        after = _backends(admin, app)
    assert after and not set(after) & set(before)  # new backends serve the store


def test_an_unanswered_write_still_fails_its_transaction(store_pg: Store) -> None:
    db = store_pg.database
    with db.write() as tx:
        tx.raw("CREATE TABLE pool_t (id INT PRIMARY KEY)")
    with pytest.raises(StoreError, match="duplicate key"), db.write() as tx:
        tx.raw_many("INSERT INTO pool_t (id) VALUES (%(id)s)", [{"id": 1}, {"id": 2}])
        tx.raw_many("INSERT INTO pool_t (id) VALUES (%(id)s)", [{"id": 2}])  # its error arrives at COMMIT
    with db.read() as tx:
        assert tx.raw("SELECT count(*) AS n FROM pool_t") == [{"n": 0}]  # nothing of it was written


def test_flush_raises_inside_the_savepoint_that_handles_it(store_pg: Store) -> None:
    db = store_pg.database
    with db.write() as tx:
        tx.raw("CREATE TABLE pool_s (id INT PRIMARY KEY)")
    with db.write() as tx:
        tx.raw_many("INSERT INTO pool_s (id) VALUES (%(id)s)", [{"id": 1}])
        tx.raw_count("SAVEPOINT s")
        with pytest.raises(psycopg.errors.UniqueViolation):
            tx.raw_many("INSERT INTO pool_s (id) VALUES (%(id)s)", [{"id": 1}])
            tx.flush()
        tx.raw_count("ROLLBACK TO SAVEPOINT s")
        tx.raw_many("INSERT INTO pool_s (id) VALUES (%(id)s)", [{"id": 2}])
    with db.read() as tx:
        assert tx.raw("SELECT id FROM pool_s ORDER BY id") == [{"id": 1}, {"id": 2}]


@pytest.fixture
def store_pg() -> Iterator[Store]:
    """A fresh PostgreSQL store."""
    with pg_schema("pool") as schema:
        store = open_store(f"{PG_URL}?schema={schema}")
        try:
            yield store
        finally:
            store.close()
