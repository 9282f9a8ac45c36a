"""The first source document end to end: flow → queue → the document's worker → ReportTaskSucceeded.

``examples/queue-callback/worker.py`` runs unchanged in the ``worker`` environment (aliyun-mns 1.1.5,
aliyunsdkcore, aliyunsdkfnf) with the variables ``tidegate env`` prints, as the example's README says: the
shim redirects its ``https://ACCOUNT.mns.REGION.aliyuncs.com`` endpoint and its FnF requests here.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.sdk import run_scenario
from tests.conftest import REPO
from tests.examples.conftest import AUTH, history_types, wait_execution
from tests.waiting import wait_until
from tests.sdkenv import SdkEnv
from tests.server import TEST_KEYS, ServerProcess
from tidegate.mq.client import MnsClient, fields
from tidegate.mq.wire import MessageRequest, encode_message

WORKER = REPO / "examples" / "queue-callback" / "worker.py"


@pytest.fixture
def worker(server: ServerProcess, worker_env: SdkEnv, tmp_path: Path) -> Iterator[Path]:
    """The unchanged worker, started as the README says; yields its output file; stopped at the end."""
    tidegate = f"{shlex.quote(sys.executable)} -c 'from tidegate.cli import main; main()'"
    script = (
        f'eval "$({tidegate} env --endpoint {server.url})"\n'
        f"exec {shlex.quote(str(worker_env.python))} {shlex.quote(str(WORKER))}\n"
    )
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(TEST_KEYS)
    env["PYTHONUNBUFFERED"] = "1"  # the worker's prints must reach the file as they happen
    out = tmp_path / "worker.out"
    with open(out, "wb") as sink:
        proc = subprocess.Popen(["bash", "-c", script], stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=REPO)
    try:
        yield out
    finally:
        proc.kill()  # the document's worker loops forever
        proc.wait(timeout=10)


def wait_for_text(path: Path, text: str, timeout_s: float = 60) -> str:
    """Wait until ``text`` appears in the file; return the file's content."""

    def content() -> str | None:
        found = path.read_text(errors="replace") if path.exists() else ""
        return found if text in found else None

    return wait_until(
        content, timeout=timeout_s, interval=0.1, message=lambda: f"{text!r} in the worker's output:\n{content()}"
    )


def queue_counts(client: MnsClient) -> tuple[str, str]:
    attrs = fields(client.request("GET", "/queues/fnf-demo").xml())
    return attrs["ActiveMessages"], attrs["InactiveMessages"]


def test_queue_callback_example(server: ServerProcess, worker: Path, fnfcore_env: SdkEnv) -> None:
    wait_for_text(worker, "Receiving messages")
    out = run_scenario(
        "fnfcore",
        server.endpoint,
        'out["start"] = call("StartExecution", FlowName="mns-queue-callback", ExecutionName="queue-1", Input="{}")',
    )
    assert "ok" in out["start"], out
    doc = wait_execution(server, "mns-queue-callback", "queue-1")
    assert doc["status"] == "Succeeded", doc
    assert doc["output"] == {"key": "value"}
    events = history_types(server, "mns-queue-callback", "queue-1")
    types = [e["type"] for e in events]
    assert "TaskSubmitted" in types and "TaskSucceeded" in types
    text = wait_for_text(worker, "Deleted message")
    assert "Report task succeeded finished" in text

    client = MnsClient(server.url, *AUTH)
    try:
        assert queue_counts(client) == ("0", "0")
        # The same token once more: the report answers TaskAlreadyCompleted and the worker's except
        # branch deletes the message, as the document's worker does.
        scheduled = next(e for e in events if e["type"] == "TaskScheduled")
        body = json.dumps(scheduled["detail"]["input"])  # type: ignore[index]
        client.request("POST", "/queues/fnf-demo/messages", body=encode_message(MessageRequest(body=body)))
        text = wait_for_text(worker, "Task already completed, deleted message")
        assert "TaskAlreadyCompleted" in text
        wait_until(lambda: queue_counts(client) == ("0", "0"), interval=0.1, message="the delete to commit")
    finally:
        client.close()
    # The execution is untouched by the late report.
    assert wait_execution(server, "mns-queue-callback", "queue-1")["output"] == {"key": "value"}
