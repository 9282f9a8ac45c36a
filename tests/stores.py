"""The store fixtures every test can use (registered in ``tests/conftest.py``), and PostgreSQL schema handling.

``store_url`` names an empty store of each backend: SQLite (a file in the test's tmp folder) and PostgreSQL
(a fresh schema, dropped afterwards). ``store`` is a freshly migrated store on it; ``open_url`` opens more
stores on the same database (all closed at teardown). A test module that needs one backend only, or a
store of its own, asks for ``tmp_path`` or :func:`pg_schema` instead.

PostgreSQL is at ``TIDEGATE_TEST_PG`` (default 127.0.0.1:5432, database ``test``). When it is unreachable
the postgres cases skip locally but fail when ``CI`` is set, so CI can never silently lose half the suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tidegate.store import Store, open_store

PG_URL = os.environ.get("TIDEGATE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
_pg_state: dict[str, str | None] = {}
OpenUrl = Callable[[], Store]


def pg_unavailable_reason() -> str | None:
    """Return why PostgreSQL cannot be used, or None when it can (checked once per session)."""
    if "reason" not in _pg_state:
        try:
            import psycopg

            with psycopg.connect(PG_URL, connect_timeout=3) as conn:
                conn.execute("SELECT 1")
            _pg_state["reason"] = None
        except Exception as exc:
            _pg_state["reason"] = f"PostgreSQL at {PG_URL} is not reachable: {exc}"
    return _pg_state["reason"]


def require_pg() -> None:
    """Skip (locally) or fail (in CI) when PostgreSQL is unreachable."""
    reason = pg_unavailable_reason()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def drop_schema(schema: str) -> None:
    """Drop a test schema and everything in it."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextmanager
def pg_schema(prefix: str = "t") -> Iterator[str]:
    """A fresh schema name on the test database (other runs may share it), dropped when the block ends.

    Skips (locally) or fails (in CI) when PostgreSQL is unreachable. The store URL is
    ``f"{PG_URL}?schema={schema}"``.
    """
    require_pg()
    schema = f"{prefix}_{uuid.uuid4().hex[:16]}"
    try:
        yield schema
    finally:
        drop_schema(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL naming an empty store of each backend; removed afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with pg_schema() as schema:
        yield f"{PG_URL}?schema={schema}"


@pytest.fixture
def open_url(store_url: str) -> Iterator[OpenUrl]:
    """Open further stores on the same database (closed at teardown)."""
    opened: list[Store] = []

    def _open() -> Store:
        s = open_store(store_url)
        opened.append(s)
        return s

    yield _open
    for s in opened:
        s.close()


@pytest.fixture
def store(open_url: OpenUrl) -> Store:
    """A freshly migrated store of each backend."""
    return open_url()
