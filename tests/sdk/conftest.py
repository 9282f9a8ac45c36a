"""A real ``tidegate server`` for the SDK tests, and helpers to set up the first document's flow on it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until
from tidegate.mq.client import MnsClient, fields
from tidegate.mq.wire import QueueAttributes, encode_queue_attributes
from tidegate.sdk import ClientConfig, Credentials, Handler, Worker

AUTH = (TEST_KEYS["TIDEGATE_ACCESS_KEY_ID"], TEST_KEYS["TIDEGATE_ACCESS_KEY_SECRET"])
#: The first source document's flow, verbatim: its task step sends to the queue fnf-demo.
DOCUMENT_FLOW = (REPO / "examples" / "queue-callback" / "flow.yaml").read_text()
QUEUE = "fnf-demo"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh server per test (some tests kill and restart it)."""
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS)
    srv.start()
    yield srv
    srv.stop()


def sdk_config(srv: ServerProcess) -> ClientConfig:
    """The SDK's configuration for ``srv``, as ``tidegate env`` would give it."""
    return ClientConfig.from_env(endpoint=srv.url, credentials=Credentials(*AUTH), env={})


def setup_flow(srv: ServerProcess, flow: str = "doc", visibility_timeout: int = 30) -> None:
    """Create the queue ``fnf-demo`` and the first document's flow named ``flow``."""
    mns = MnsClient(srv.url, *AUTH)
    try:
        attrs = encode_queue_attributes(QueueAttributes(visibility_timeout=visibility_timeout))
        mns.request("PUT", f"/queues/{QUEUE}", body=attrs)
    finally:
        mns.close()
    with httpx.Client(base_url=srv.url + "/api/v1", auth=AUTH, timeout=30) as api:
        r = api.post("/flows", json={"name": flow, "definition": DOCUMENT_FLOW})
        assert r.status_code == 201, r.text


def start(srv: ServerProcess, flow: str, name: str, value: Any = "hi") -> None:
    """Start an execution with the input ``{"value": value}``."""
    with httpx.Client(base_url=srv.url + "/api/v1", auth=AUTH, timeout=30) as api:
        r = api.post(f"/flows/{flow}/executions", json={"name": name, "input": {"value": value}})
        assert r.status_code in (200, 201), r.text


def wait_ended(srv: ServerProcess, flow: str, name: str, timeout_s: float = 60) -> dict[str, Any]:
    """Long-poll until the execution ended; return its REST document."""
    with httpx.Client(base_url=srv.url + "/api/v1", auth=AUTH, timeout=30) as api:

        def ended() -> dict[str, Any] | None:
            try:
                doc: dict[str, Any] = api.get(f"/flows/{flow}/executions/{name}", params={"wait": 5}).json()
            except httpx.HTTPError:  # the server is restarting
                return None
            return doc if doc["status"] not in ("Running", "Starting") else None

        return wait_until(ended, timeout=timeout_s, interval=0.05, message=f"{flow}/{name} to end")


def queue_counts(srv: ServerProcess) -> tuple[int, int]:
    """(active, inactive) messages of the queue."""
    mns = MnsClient(srv.url, *AUTH)
    try:
        f = fields(mns.request("GET", f"/queues/{QUEUE}").xml())
        return int(f["ActiveMessages"]), int(f["InactiveMessages"])
    finally:
        mns.close()


class WorkerThread:
    """A :class:`Worker` serving in a thread of the test process; :meth:`stop` stops it and returns its stats."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.worker.run()
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def stop(self, now: bool = False, timeout_s: float = 60) -> None:
        self.worker.stop(now=now)
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "the worker did not stop"
        if self.error is not None:
            raise self.error


@pytest.fixture
def run_worker(server: ServerProcess) -> Iterator[Any]:
    """``run_worker(handler, **options)`` starts a Worker on ``fnf-demo`` in a thread; all are stopped at the end."""
    started: list[WorkerThread] = []

    def make(handler: Handler, **options: Any) -> WorkerThread:
        options.setdefault("wait_seconds", 1)
        wt = WorkerThread(Worker(QUEUE, handler, config=sdk_config(server), **options))
        started.append(wt)
        return wt

    yield make
    for wt in started:
        wt.stop(now=True)
