"""The Worker against a real server: the first source document's flow end to end, failures, duplicates, heartbeats."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from tests.sdk.conftest import AUTH, QUEUE, queue_counts, setup_flow, start, wait_ended
from tests.server import ServerProcess
from tests.waiting import wait_until
from tidegate.mq.client import MnsClient, MnsClientError
from tidegate.mq.wire import MessageRequest, encode_message
from tidegate.sdk import TaskFailed, current_task


def test_document_flow_end_to_end(server: ServerProcess, run_worker: Any) -> None:
    setup_flow(server)
    seen: list[tuple[Any, str]] = []

    def handle(payload: Any) -> dict[str, Any]:
        seen.append((payload, current_task().message_id))
        return {"key": payload["key"].upper(), "n": len(seen)}

    wt = run_worker(handle, concurrency=4)
    for i in range(20):
        start(server, "doc", f"e{i}", value=f"v{i}")
    outputs = [wait_ended(server, "doc", f"e{i}") for i in range(20)]
    assert all(doc["status"] == "Succeeded" for doc in outputs), outputs
    # The flow maps the constant "value" to key: each output is the handler's, each execution its own call.
    assert all(doc["output"]["key"] == "VALUE" for doc in outputs)
    assert sorted(doc["output"]["n"] for doc in outputs) == list(range(1, 21))
    # The payload is the body's object without the token; every message was handled once.
    assert all(p == {"key": "value"} for p, _ in seen)
    assert len({mid for _, mid in seen}) == 20
    wait_until(lambda: queue_counts(server) == (0, 0), message="the deletes to commit")
    wt.stop()
    stats = wt.worker.stats
    assert (stats.received, stats.succeeded, stats.deleted, stats.failed) == (20, 20, 20, 0)


def test_async_handler(server: ServerProcess, run_worker: Any) -> None:
    setup_flow(server)

    async def handle(payload: Any) -> str:
        await asyncio.sleep(0)
        return json.dumps({"async": payload["key"], "message": current_task().message_id != ""})

    run_worker(handle)
    start(server, "doc", "a1", value="x")
    doc = wait_ended(server, "doc", "a1")
    assert (doc["status"], doc["output"]) == ("Succeeded", {"async": "value", "message": True})


def test_task_failed_reports_error_and_cause(server: ServerProcess, run_worker: Any) -> None:
    setup_flow(server)

    def handle(payload: Any) -> None:
        raise TaskFailed("OutOfStock", f"no {payload['key']} left")

    wt = run_worker(handle)
    start(server, "doc", "f1", value="widgets")
    doc = wait_ended(server, "doc", "f1")
    assert doc["status"] == "Failed"
    assert (doc["error"], doc["cause"]) == ("OutOfStock", "no value left")
    wait_until(lambda: queue_counts(server) == (0, 0), message="the message to be deleted")
    assert wt.worker.stats.failed == 1


def test_handler_exception_becomes_error_and_cause(server: ServerProcess, run_worker: Any) -> None:
    setup_flow(server)

    def handle(payload: Any) -> None:
        raise ValueError(f"cannot parse {payload['key']!r}")

    run_worker(handle)
    start(server, "doc", "x1", value="abc")
    doc = wait_ended(server, "doc", "x1")
    assert (doc["status"], doc["error"], doc["cause"]) == ("Failed", "ValueError", "cannot parse 'value'")


def test_unserialisable_output_is_a_type_error(server: ServerProcess, run_worker: Any) -> None:
    setup_flow(server)
    run_worker(lambda payload: {"when": object()})
    start(server, "doc", "t1")
    doc = wait_ended(server, "doc", "t1")
    assert (doc["status"], doc["error"]) == ("Failed", "TypeError")


def test_task_already_completed_is_done(server: ServerProcess, run_worker: Any) -> None:
    """A message whose task was reported already (a redelivery) is handled, answered TaskAlreadyCompleted, deleted."""
    setup_flow(server)
    calls: list[str] = []
    wt = run_worker(lambda payload: calls.append(current_task().token))
    start(server, "doc", "d1")
    assert wait_ended(server, "doc", "d1")["status"] == "Succeeded"
    wait_until(lambda: wt.worker.stats.deleted == 1, message="the first delete")
    # The same task message once more, as a redelivery would bring it.
    body = json.dumps({"task_token": calls[0], "key": "hi"})
    mns = MnsClient(server.url, *AUTH)
    try:
        mns.request("POST", f"/queues/{QUEUE}/messages", body=encode_message(MessageRequest(body=body)))
    finally:
        mns.close()
    wait_until(lambda: wt.worker.stats.already_completed == 1, message="the TaskAlreadyCompleted answer")
    wait_until(lambda: queue_counts(server) == (0, 0), message="the duplicate to be deleted")
    assert len(calls) == 2 and wt.worker.stats.rejected == 0


def test_message_without_token_stays_in_the_queue(server: ServerProcess, run_worker: Any) -> None:
    setup_flow(server, visibility_timeout=600)
    calls: list[Any] = []
    wt = run_worker(calls.append)
    mns = MnsClient(server.url, *AUTH)
    try:
        mns.request("POST", f"/queues/{QUEUE}/messages", body=encode_message(MessageRequest(body='{"no": "token"}')))
    finally:
        mns.close()
    wait_until(lambda: wt.worker.stats.invalid == 1, message="the message to be judged invalid")
    assert calls == [] and queue_counts(server) == (0, 1)  # received, not deleted


def test_visibility_is_extended_while_a_slow_handler_runs(server: ServerProcess, run_worker: Any) -> None:
    setup_flow(server, visibility_timeout=2)
    release = threading.Event()
    calls: list[int] = []

    def handle(payload: Any) -> dict[str, int]:
        calls.append(current_task().dequeue_count)
        assert release.wait(120)
        return {"calls": len(calls)}

    wt = run_worker(handle, heartbeat_interval=0.25)
    start(server, "doc", "slow")
    # Twelve extensions take at least 3 s: past the queue's 2 s visibility timeout.
    wait_until(lambda: wt.worker.stats.visibility_extensions >= 12, timeout=60, message="12 visibility extensions")
    assert queue_counts(server) == (0, 1)  # still held, never offered again
    mns = MnsClient(server.url, *AUTH)
    try:
        try:
            mns.request("GET", f"/queues/{QUEUE}/messages", query="waitseconds=0")
            raise AssertionError("the held message was offered to another receiver")
        except MnsClientError as exc:
            assert exc.error_code == "MessageNotExist"
    finally:
        mns.close()
    # This server has ReportTaskHeartbeat: the worker reports one with each extension.
    wait_until(lambda: wt.worker.stats.heartbeats >= 12, timeout=60, message="12 heartbeats")
    assert wt.worker.heartbeat_rpc_supported is True
    release.set()
    doc = wait_ended(server, "doc", "slow")
    assert (doc["status"], doc["output"]) == ("Succeeded", {"calls": 1})
    assert calls == [1]
    # The handle of the last extension deleted the message.
    wait_until(lambda: queue_counts(server) == (0, 0), message="the delete with the newest handle")
    assert wt.worker.stats.deleted == 1


def test_graceful_stop_lets_running_tasks_finish(server: ServerProcess, run_worker: Any) -> None:
    setup_flow(server, visibility_timeout=600)
    release = threading.Event()
    wt = run_worker(lambda payload: release.wait(60) and {"done": True}, concurrency=2)
    start(server, "doc", "g1")
    wait_until(lambda: wt.worker.stats.received == 1, message="the message to be received")
    stopper = threading.Thread(target=wt.stop)
    stopper.start()
    release.set()
    stopper.join(60)
    assert wait_ended(server, "doc", "g1")["status"] == "Succeeded"
    assert queue_counts(server) == (0, 0)


def test_unreachable_endpoint_backs_off(tmp_path: Any) -> None:
    """Receives that fail are retried with growing pauses (not a busy loop), and stop() still ends the worker."""
    from tests.sdk.conftest import WorkerThread
    from tests.server import free_port
    from tidegate.sdk import ClientConfig, Credentials, Worker

    config = ClientConfig.from_env(endpoint=f"http://127.0.0.1:{free_port()}", credentials=Credentials(*AUTH), env={})
    wt = WorkerThread(Worker(QUEUE, lambda p: p, config=config, visibility_timeout=30, wait_seconds=1))
    wait_until(lambda: wt.worker.stats.errors >= 3, timeout=30, message="three failed receives")
    wt.stop()
    # 0.1, 0.2, 0.4 … s with jitter: far fewer than a loop without pauses would make.
    assert wt.worker.stats.errors < 30
