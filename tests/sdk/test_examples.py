"""The examples' SDK workers, run as their docstrings say, against a real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import REPO
from tests.sdk.conftest import AUTH, wait_ended
from tests.server import TEST_KEYS, ServerProcess
from tidegate.names import DEFAULT_ACCOUNT_ID, DEFAULT_REGION


def _tidegate(server: ServerProcess, *args: str) -> None:
    env = {**os.environ, **TEST_KEYS, "TIDEGATE_ENDPOINT": server.url}
    cmd = [sys.executable, "-c", "from tidegate.cli import main; main()", *args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 0, r.stderr


def _run_example(server: ServerProcess, script: Path, out: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    env.update(TEST_KEYS, TIDEGATE_ENDPOINT=server.url, PYTHONUNBUFFERED="1")
    with open(out, "wb") as sink:
        return subprocess.Popen([sys.executable, str(script)], stdout=sink, stderr=subprocess.STDOUT, env=env)


def _stop(proc: subprocess.Popen[bytes], out: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        assert proc.wait(timeout=60) == 0, out.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return out.read_text()


def _start(server: ServerProcess, flow: str, name: str, doc: dict[str, object]) -> None:
    with httpx.Client(base_url=server.url + "/api/v1", auth=AUTH, timeout=30) as api:
        r = api.post(f"/flows/{flow}/executions", json={"name": name, "input": doc})
        assert r.status_code in (200, 201), r.text


def test_queue_callback_sdk_worker(tmp_path: Path) -> None:
    deploy = REPO / "examples" / "queue-callback" / "deploy.yaml"
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS)
    srv.start()
    try:
        _tidegate(srv, "deploy", str(deploy))
        out = tmp_path / "out"
        proc = _run_example(srv, REPO / "examples" / "queue-callback" / "sdk_worker.py", out)
        _start(srv, "mns-queue-callback", "sdk-1", {"value": "hi"})
        doc = wait_ended(srv, "mns-queue-callback", "sdk-1")
        assert (doc["status"], doc["output"]) == ("Succeeded", {"key": "value"})
        text = _stop(proc, out)
        assert "Handling {'key': 'value'}" in text and "succeeded=1" in text, text
    finally:
        srv.stop()


def test_topic_callback_sdk_worker(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS)
    srv.start()
    try:
        queue = "fnf-demo-topic-tasks"
        arn = f"acs:mns:{DEFAULT_REGION}:{DEFAULT_ACCOUNT_ID}:queues/{queue}"
        _tidegate(srv, "queue", "create", queue)
        _tidegate(srv, "topic", "create", "fnf-demo-topic")
        _tidegate(srv, "topic", "subscribe", "fnf-demo-topic", "to-worker", arn, "--format", "JSON")
        definition = (REPO / "examples" / "topic-callback" / "flow.yaml").read_text()
        with httpx.Client(base_url=srv.url + "/api/v1", auth=AUTH, timeout=30) as api:
            assert api.post("/flows", json={"name": "mns-topic-callback", "definition": definition}).status_code == 201
        out = tmp_path / "out"
        proc = _run_example(srv, REPO / "examples" / "topic-callback" / "sdk_worker.py", out)
        _start(srv, "mns-topic-callback", "sdk-1", {"messageBody": "hello world"})
        doc = wait_ended(srv, "mns-topic-callback", "sdk-1")
        assert (doc["status"], doc["output"]) == ("Succeeded", {"status": "success"})
        text = _stop(proc, out)
        assert "Handling {'messageBody': 'hello world'}" in text, text
    finally:
        srv.stop()
