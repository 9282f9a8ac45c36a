"""The SQLite backups docs/operations.md describes, taken while the server runs, open as a complete store."""

from __future__ import annotations

import base64
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.server import TEST_KEYS, ServerProcess
from tidegate.store import open_store

FLOW = "version: v1\ntype: flow\nsteps:\n  - type: pass\n    name: p\n"
AUTH = {
    "Authorization": "Basic "
    + base64.b64encode(
        f"{TEST_KEYS['TIDEGATE_ACCESS_KEY_ID']}:{TEST_KEYS['TIDEGATE_ACCESS_KEY_SECRET']}".encode()
    ).decode()
}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS)
    srv.start()
    try:
        created = httpx.post(f"{srv.url}/api/v1/flows", json={"name": "kept", "definition": FLOW}, headers=AUTH)
        assert created.status_code == 201, created.text
        started = httpx.post(f"{srv.url}/api/v1/flows/kept/executions", json={"name": "e1"}, headers=AUTH)
        assert started.status_code == 201, started.text
        yield srv
    finally:
        srv.stop()


def _assert_complete(copy: Path) -> None:
    store = open_store(f"sqlite:///{copy}")
    try:
        assert store.get_flow("kept").name == "kept"
        assert store.get_execution("kept", "e1").name == "e1"
    finally:
        store.close()


def test_vacuum_into_while_the_server_runs(server: ServerProcess, tmp_path: Path) -> None:
    copy = tmp_path / "vacuum.db"
    with sqlite3.connect(server.data_dir / "tidegate.db") as conn:
        conn.execute("VACUUM INTO ?", (str(copy),))
    conn.close()
    _assert_complete(copy)


def test_the_online_backup_api_while_the_server_runs(server: ServerProcess, tmp_path: Path) -> None:
    copy = tmp_path / "backup.db"
    sqlite3_cli = shutil.which("sqlite3")
    if sqlite3_cli is not None:  # the command docs/operations.md shows
        done = subprocess.run(
            [sqlite3_cli, str(server.data_dir / "tidegate.db"), f".backup '{copy}'"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    else:  # the same SQLite online backup, through Python's module
        source = sqlite3.connect(server.data_dir / "tidegate.db")
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
    _assert_complete(copy)
