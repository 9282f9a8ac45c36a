"""``tidegate worker`` as a process: SIGTERM with tasks in flight loses no message; a server restart mid-run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.sdk.conftest import QUEUE, queue_counts, setup_flow, start, wait_ended
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until
from tidegate.sdk import current_task

# The handler of the worker processes: it notes each task it starts, then works until the file GO exists.
HANDLER = """
import os, time
from pathlib import Path
from tidegate.sdk import current_task

HERE = Path(__file__).parent

def handle(payload):
    with open(HERE / "started", "a") as f:
        f.write(current_task().message_id + "\\n")
    end = time.monotonic() + 120
    while not (HERE / "GO").exists():  # the task's work: it lasts until the test lets it end
        if time.monotonic() > end:
            raise TimeoutError("GO never came")
        time.sleep(0.02)
    return {"pid": os.getpid()}
"""


def _started(folder: Path) -> list[str]:
    path = folder / "started"
    return path.read_text().split() if path.exists() else []


def _worker_process(server: ServerProcess, folder: Path, *options: str) -> subprocess.Popen[bytes]:
    (folder / "slow_handler.py").write_text(HANDLER)
    env = {**os.environ, **TEST_KEYS, "PYTHONUNBUFFERED": "1"}
    env.pop("TIDEGATE_ENDPOINT", None)
    cmd = [
        sys.executable,
        "-c",
        "from tidegate.cli import main; main()",
        "worker",
        "--queue",
        QUEUE,
        "--endpoint",
        server.url,
        "--wait-seconds",
        "1",
        *options,
        "slow_handler:handle",
    ]
    log = open(folder / "worker.log", "wb")
    try:
        return subprocess.Popen(cmd, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    finally:
        log.close()


@pytest.mark.parametrize("when_stopped", ["tasks finish", "tasks released"])
def test_sigterm_loses_no_message(server: ServerProcess, tmp_path: Path, run_worker: Any, when_stopped: str) -> None:
    # A visibility timeout far beyond the test: a message comes back in time only if the worker released it.
    setup_flow(server, visibility_timeout=3600)
    n = 8
    for i in range(n):
        start(server, "doc", f"s{i}")
    folder = tmp_path / "w"
    folder.mkdir()
    proc = _worker_process(
        server, folder, "--concurrency", "3", "--shutdown-timeout", "60" if when_stopped == "tasks finish" else "1"
    )
    try:
        wait_until(lambda: len(_started(folder)) == 3, timeout=60, message=lambda: (folder / "worker.log").read_text())
        proc.send_signal(signal.SIGTERM)
        if when_stopped == "tasks finish":
            (folder / "GO").touch()
        assert proc.wait(timeout=90) == 0, (folder / "worker.log").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = (folder / "worker.log").read_text()
    held = set(_started(folder))
    assert len(held) == 3, log  # no message was taken after the signal
    if when_stopped == "tasks finish":
        assert "stopped: 3 succeeded" in log, log
    else:
        assert "0 succeeded" in log and "3 released" in log, log
    # A second worker gets everything that is left at once (nothing waits for a visibility timeout).
    (folder / "GO").touch()
    second: list[str] = []

    def handle_second(payload: Any) -> dict[str, bool]:
        second.append(current_task().message_id)
        return {"second": True}

    run_worker(handle_second, concurrency=8)
    docs = [wait_ended(server, "doc", f"s{i}", timeout_s=90) for i in range(n)]
    assert all(d["status"] == "Succeeded" for d in docs), docs
    by_second = sum(d["output"] == {"second": True} for d in docs)
    if when_stopped == "tasks finish":
        assert by_second == n - 3 and held.isdisjoint(second)
    else:
        assert by_second == n and held <= set(second)  # the released three came back
    wait_until(lambda: queue_counts(server) == (0, 0), message="every message to be deleted")


def test_server_restart_mid_run(server: ServerProcess, run_worker: Any) -> None:
    """The server is killed while a task runs and started again on the same data folder: the worker goes on."""
    setup_flow(server)
    go = threading.Event()

    def handle(payload: Any) -> dict[str, str]:
        assert go.wait(120)
        return {"token_seen": str(bool(current_task().token))}

    wt = run_worker(handle)
    start(server, "doc", "r1")
    wait_until(lambda: wt.worker.stats.received == 1, message="the message to be received")
    server.kill()
    go.set()  # the report meets a dead server: retried with backoff
    wait_until(lambda: wt.worker.stats.errors >= 2, timeout=60, message="the worker to meet the dead server")
    server.start()
    doc = wait_ended(server, "doc", "r1", timeout_s=120)
    assert (doc["status"], doc["output"]) == ("Succeeded", {"token_seen": "True"})
    # New work after the restart: the receive loop reconnected.
    start(server, "doc", "r2")
    assert wait_ended(server, "doc", "r2", timeout_s=120)["status"] == "Succeeded"
    wait_until(lambda: queue_counts(server) == (0, 0), timeout=60, message="both messages to be deleted")
    assert wt.worker.stats.succeeded + wt.worker.stats.already_completed >= 2


def test_runner_refuses_a_bad_handler(tmp_path: Path) -> None:
    env = {**os.environ, **TEST_KEYS}
    cmd = [sys.executable, "-c", "from tidegate.cli import main; main()", "worker", "--queue", QUEUE]
    for spec, says in (("nocolon", "module:function"), ("no_such_module:f", "cannot import"), ("os:nope", "has no")):
        r = subprocess.run([*cmd, "--endpoint", "http://127.0.0.1:1", spec], cwd=tmp_path, env=env, capture_output=True)
        assert r.returncode == 2 and says in r.stderr.decode(), r.stderr
    assert REPO.is_dir()
