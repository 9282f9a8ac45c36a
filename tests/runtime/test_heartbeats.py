"""Heartbeats and callback deadlines end to end: a queue callback step, a real store, the runtime in-process.

The worker's heartbeats are paced in real time (that is what is tested: a ``heartbeatSeconds: 2`` deadline
kept alive for 6 s); every wait for an outcome goes through :func:`tests.waiting.wait_until`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.runtime.helpers import add_flow, history, start, wait_ended
from tests.waiting import wait_until
from tidegate.auth.errors import InvalidTaskToken
from tidegate.integrations.mns import mns_targets
from tidegate.mq import QueueService
from tidegate.mq.wire import QueueAttributes
from tidegate.runtime import Runtime, load_signer
from tidegate.runtime.service import InvalidArgument, TaskAlreadyCompleted, WorkflowService
from tidegate.store import Store

STEP = """version: v1
type: flow
steps:
  - type: task
    name: work
    resourceArn: acs:mns:::/queues/jobs/messages
    pattern: waitForCallback
{extra}    inputMappings:
      - {{target: token, source: $context.task.token}}
    serviceParams:
      MessageBody: $
    errorMappings:
      - {{target: error, source: $local.error}}
      - {{target: cause, source: $local.cause}}
    catch:
      - errors: [FnF.TaskTimeout]
        goto: caught
  - {{type: succeed, name: done}}
  - type: pass
    name: caught
    outputMappings:
      - {{target: caught, source: true}}
"""


@contextmanager
def _running(store: Store, callback_timeout_s: int = 0) -> Iterator[tuple[WorkflowService, QueueService]]:
    queues = QueueService(store.database)
    queues.create_queue("jobs", QueueAttributes())
    transactional = mns_targets(store, region="cn-hangzhou", account_id="1234567890123456")
    rt = Runtime(store, signer=load_signer(store), transactional=transactional, callback_timeout_s=callback_timeout_s)
    service = WorkflowService(store, rt.signer, apply_now=rt.driver.apply_now)
    with rt:
        yield service, queues


def _token(queues: QueueService) -> str:
    (msg,) = queues.receive("jobs", 1, wait_s=20)
    return str(json.loads(msg.body)["token"])


def _flow(store: Store, extra: str) -> int:
    add_flow(store, "f", STEP.format(extra=extra))
    return start(store, "f").id


def test_a_worker_that_heartbeats_keeps_its_task_alive_and_succeeds(store: Store) -> None:
    with _running(store) as (service, queues):
        ex = _flow(store, "    heartbeatSeconds: 2\n")
        token = _token(queues)
        wait_until(lambda: "TaskSubmitted" in [h.type for h in history(store, ex)], message="TaskSubmitted")
        events_before = len(history(store, ex))
        end = time.monotonic() + 6
        while time.monotonic() < end:  # the worker at work: a heartbeat every half second for 6 s
            service.report_task_heartbeat(token)
            assert not store.get_execution_by_id(ex).ended
            threading.Event().wait(0.5)  # pacing the worker, not waiting for the server
        assert len(history(store, ex)) == events_before  # heartbeats write no history event
        service.report_task_succeeded(token, '{"done": true}')
        done = wait_ended(store, ex)
    assert done.status == "Succeeded", (done.error, done.cause)
    assert json.loads(done.output or "") == {"done": True}
    assert "TaskTimedOut" not in [h.type for h in history(store, ex)]


def test_a_worker_that_stops_heartbeating_fails_the_task_and_the_catch_runs(store: Store) -> None:
    with _running(store) as (service, queues):
        ex = _flow(store, "    heartbeatSeconds: 2\n    timeoutSeconds: 600\n")
        token = _token(queues)
        service.report_task_heartbeat(token)
        done = wait_ended(store, ex, 30)  # the worker went quiet: the heartbeat deadline passes
        # A worker that comes back learns that its task is over.
        with pytest.raises(TaskAlreadyCompleted):
            service.report_task_heartbeat(token)
        with pytest.raises(TaskAlreadyCompleted):
            service.report_task_succeeded(token, "{}")
    assert done.status == "Succeeded", (done.error, done.cause)
    output = json.loads(done.output or "")
    assert output["caught"] is True and output["error"] == "FnF.TaskTimeout"
    assert "heartbeat" in output["cause"] and "2 seconds" in output["cause"]
    timed_out = [h for h in history(store, ex) if h.type == "TaskTimedOut"]
    assert len(timed_out) == 1 and "heartbeat" in json.loads(timed_out[0].detail)["cause"]


def test_a_callback_without_timeout_seconds_ends_at_the_default_callback_timeout(store: Store) -> None:
    with _running(store, callback_timeout_s=2) as (_, queues):
        ex = _flow(store, "")
        _token(queues)
        done = wait_ended(store, ex, 30)
    output = json.loads(done.output or "")
    assert done.status == "Succeeded" and output["caught"] is True
    assert output["error"] == "FnF.TaskTimeout" and "default callback timeout" in output["cause"]


def test_without_a_default_callback_timeout_a_callback_waits(store: Store) -> None:
    with _running(store, callback_timeout_s=0) as (service, queues):
        ex = _flow(store, "")
        token = _token(queues)
        wait_until(
            lambda: [t.execution_id for t in store.list_waiting_tasks().items] == [ex],
            message="the task in the waiting list",
        )
        (waiting,) = service.list_waiting_tasks().items
        assert waiting.deadline_ms is None and waiting.step_name == "work" and waiting.attempt == 1
        service.report_task_heartbeat(token)  # accepted: the step has no heartbeatSeconds, nothing moves
        assert service.list_waiting_tasks().items[0].last_heartbeat_ms is not None
        assert not store.get_execution_by_id(ex).ended
        service.complete_waiting_task("f", waiting.execution_name, waiting.task_key, '{"by": "operator"}')
        done = wait_ended(store, ex)
        with pytest.raises(TaskAlreadyCompleted):
            service.fail_waiting_task("f", waiting.execution_name, waiting.task_key, "E")
    assert done.status == "Succeeded" and json.loads(done.output or "") == {"by": "operator"}


def test_hostile_heartbeats_and_operator_reports_are_refused_clearly(store: Store) -> None:
    with _running(store) as (service, _):
        for bad in ("", "x", "not-a-token" * 40):
            with pytest.raises(InvalidTaskToken) as refused:
                service.report_task_heartbeat(bad)
            assert refused.value.code == "InvalidArgument"  # what ReportTaskSucceeded answers
        add_flow(store, "f", STEP.format(extra=""))
        for key in ("", "1", "a.b", "0.1", "1.0", "1.2.3", "9" * 30 + ".1"):
            with pytest.raises(InvalidArgument, match="task"):
                service.complete_waiting_task("f", "e", key, "{}")
        with pytest.raises(InvalidArgument):
            service.list_waiting_tasks(sort="oldest")
        with pytest.raises(InvalidArgument):
            service.list_waiting_tasks(flow_name="bad name")
