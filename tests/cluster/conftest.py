"""The PostgreSQL store the multi-server tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stores import PG_URL, pg_schema


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL schema (dropped afterwards); PostgreSQL is required in CI."""
    with pg_schema("cluster") as schema:
        yield f"{PG_URL}?schema={schema}"
