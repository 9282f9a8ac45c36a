"""``tidegate backup``: an online copy of a running server's SQLite store, restored into a new data folder.

The server starts executions and takes messages while the backup runs; the restored server has every
execution and message acknowledged before the backup began, and runs the waiting executions to the end.
"""

from __future__ import annotations

import base64
import shutil
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.cli.helpers import assert_one_line_error, tidegate
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until
from tidegate.cli._client import UsageFailure
from tidegate.cli.backup import BackupFailed, backup_sqlite
from tidegate.mq.client import MnsClient, MnsClientError, fields
from tidegate.mq.wire import MessageRequest, encode_message

PASS_FLOW = "version: v1\ntype: flow\nsteps:\n  - type: pass\n    name: p\n"
WAIT_FLOW = "version: v1\ntype: flow\nsteps:\n  - type: wait\n    name: w\n    duration: 4\n"
AUTH = {
    "Authorization": "Basic "
    + base64.b64encode(
        f"{TEST_KEYS['TIDEGATE_ACCESS_KEY_ID']}:{TEST_KEYS['TIDEGATE_ACCESS_KEY_SECRET']}".encode()
    ).decode()
}


def _mns(srv: ServerProcess) -> MnsClient:
    return MnsClient(srv.url, TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"], 10)


def _rest(srv: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=f"{srv.url}/api/v1", headers=AUTH, timeout=10)


def _writer(step: Callable[[int], str | None], acked: list[str], stop: threading.Event) -> threading.Thread:
    """A thread calling ``step(i)`` until stopped; what a step returns was acknowledged by the server."""

    def run() -> None:
        i = 0
        while not stop.is_set():
            try:
                done = step(i)
            except (httpx.HTTPError, MnsClientError):
                done = None
            if done is not None:
                acked.append(done)
            i += 1

    return threading.Thread(target=run, daemon=True)


def test_backup_while_the_server_writes_then_restore(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS)
    srv.start()
    rest, mns = _rest(srv), _mns(srv)
    starter, sender = _rest(srv), _mns(srv)  # the writers' own connections
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        for name, definition in (("p", PASS_FLOW), ("w", WAIT_FLOW)):
            assert rest.post("/flows", json={"name": name, "definition": definition}).status_code == 201
        mns.request("PUT", "/queues/q")
        waiting = [f"w{i}" for i in range(3)]
        for name in waiting:
            assert rest.post("/flows/w/executions", json={"name": name}).status_code == 201

        started: list[str] = []
        sent: list[str] = []

        def start_one(i: int) -> str | None:
            r = starter.post("/flows/p/executions", json={"name": f"e{i}"})
            return f"e{i}" if r.status_code == 201 else None

        def send_one(i: int) -> str | None:
            r = sender.request("POST", "/queues/q/messages", body=encode_message(MessageRequest(body=f"m{i}")))
            return f"m{i}" if fields(r.xml())["MessageId"] else None

        threads = [_writer(start_one, started, stop), _writer(send_one, sent, stop)]
        for t in threads:
            t.start()
        wait_until(lambda: len(started) >= 20 and len(sent) >= 20, message="20 executions and 20 messages")
        started_before, sent_before = list(started), list(sent)  # acknowledged before the backup began
        copy = tmp_path / "backups" / "tidegate.db"
        r = tidegate("backup", str(copy), "--data", str(srv.data_dir))
        assert r.rc == 0, r
        assert "backed up" in r.out
        after_backup = len(started) + len(sent)
        wait_until(lambda: len(started) + len(sent) > after_backup + 10, message="writes after the backup")
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert [p.name for p in copy.parent.iterdir()] == ["tidegate.db"]  # no temporary file left
    finally:
        stop.set()
        for t in threads:
            t.join(15)
        srv.stop()
        for client in (rest, mns, starter, sender):
            client.close()

    # Restore: a new data folder holding the copy as its store.
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copyfile(copy, restored_dir / "tidegate.db")
    new = ServerProcess(restored_dir, env=TEST_KEYS)
    new.start()
    rest, mns = _rest(new), _mns(new)
    try:
        for name in started_before:
            got = rest.get(f"/flows/p/executions/{name}")
            assert got.status_code == 200, (name, got.text)
        for name in waiting:  # waiting when the backup was taken: the restored server runs them to the end

            def ended(name: str = name) -> str | None:
                status = str(rest.get(f"/flows/w/executions/{name}").json()["status"])
                return status if status not in ("Running", "Starting") else None

            assert wait_until(ended, timeout=60, message=f"execution {name} to end") == "Succeeded"
        drained: list[str] = []
        while True:
            try:
                got_messages = mns.request("GET", "/queues/q/messages", query="numOfMessages=16&waitseconds=0")
            except MnsClientError as e:
                assert e.error_code == "MessageNotExist"
                break
            drained.extend(fields(m)["MessageBody"] for m in got_messages.xml().children)
        assert set(sent_before) <= set(drained)
    finally:
        new.stop()
        rest.close()
        mns.close()


def test_backup_refusals(tmp_path: Path) -> None:
    r = tidegate("backup", str(tmp_path / "x.db"), "--store", "postgresql://127.0.0.1:5432/test")
    assert_one_line_error(r, "pg_dump")
    assert r.rc == 2
    r = tidegate("backup", str(tmp_path / "x.db"), "--data", str(tmp_path / "none"))
    assert_one_line_error(r, "no store at")
    assert r.rc == 1
    assert not (tmp_path / "none").exists() and not (tmp_path / "x.db").exists()
    r = tidegate("backup", str(tmp_path / "x.db"), "--data", str(tmp_path), "--store", "sqlite:///a.db")
    assert_one_line_error(r, "not both")


def test_backup_never_replaces_unasked_and_leaves_nothing_half_written(tmp_path: Path) -> None:
    source = tmp_path / "not-a-store.db"
    source.write_bytes(b"this is not a database" * 100)
    target = tmp_path / "backup.db"
    target.write_bytes(b"the previous backup")
    with pytest.raises(UsageFailure, match="exists; use --force"):
        backup_sqlite(source, target)
    with pytest.raises(BackupFailed, match=r"backing up .* failed"):
        backup_sqlite(source, target, force=True)
    assert target.read_bytes() == b"the previous backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup.db", "not-a-store.db"]
