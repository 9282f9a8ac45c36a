"""A fresh server per test (a poisoned execution or queue of one test must not fail the next one)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.scenarios import write_functions
from tests.hostile.harness import Hostile, started


@pytest.fixture()
def hostile(tmp_path: Path) -> Iterator[Hostile]:
    """A running server on a fresh SQLite data folder, with the ``svc/ack`` function."""
    yield from started(tmp_path / "data", write_functions(tmp_path / "functions"))
