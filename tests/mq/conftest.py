"""Fixtures of the message-service tests: the store fixtures of tests/store (SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.store.conftest import open_url, store, store_url  # noqa: F401  (re-exported fixtures)
