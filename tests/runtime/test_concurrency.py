"""Many concurrent executions of a flow with a 1-second wait all end, each once, with its own output.

Runs on both store backends (the ``store_url`` fixture). The executions are all created by concurrent
clients while one :class:`Runtime` drives the store; the test waits (with a deadline) until none runs, then
checks every execution: succeeded, its own output, its wait really waited, and its history holds each event
once. How fast they finish is a benchmark (``python -m bench workflow``: ``wait1s``), not a test.
"""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.waiting import wait_until
from tidegate.clock import now_ms
from tidegate.runtime import START, Runtime, load_signer
from tidegate.status import ExecutionStatus
from tidegate.store import ExecutionRecord, FlowRecord, Store, open_store

COUNT = 300
#: The history of one execution, in order: every event once (nothing lost, nothing doubled).
HISTORY = ["ExecutionStarted", *["StepEntered", "StepSucceeded", "StepExited"] * 3, "ExecutionSucceeded"]
FLOW = """\
version: v1
type: flow
steps:
  - type: pass
    name: before
    outputMappings:
      - target: n
        source: $input.n
  - type: wait
    name: sleep
    duration: 1
  - type: pass
    name: after
    outputMappings:
      - target: done
        source: "yes"
"""


def _start(store: Store, n: int) -> None:
    record = ExecutionRecord(
        flow_name="sleepy", name=f"e{n}", definition=FLOW, input=json.dumps({"n": n}), started_ms=now_ms()
    )
    store.create_execution(record, {"type": START})


def _first_running(store: Store) -> ExecutionRecord | None:
    page = store.list_executions("sleepy", status=ExecutionStatus.RUNNING, limit=1)
    return page.items[0] if page.items else None


def _all(store: Store) -> list[ExecutionRecord]:
    records: list[ExecutionRecord] = []
    token = None
    while True:
        page = store.list_executions("sleepy", limit=500, next_token=token)
        records.extend(page.items)
        token = page.next_token
        if not token:
            return records


def test_concurrent_one_second_waits_all_end_once(store_url: str) -> None:
    store = open_store(store_url)
    try:
        now = now_ms()
        store.create_flow(
            FlowRecord(name="sleepy", id=str(uuid.uuid4()), definition=FLOW, created_ms=now, modified_ms=now)
        )
        with Runtime(store, signer=load_signer(store), workers=2):
            # Started by a few concurrent clients, as through the API.
            with ThreadPoolExecutor(max_workers=4) as clients:
                list(clients.map(lambda n: _start(store, n), range(COUNT)))
            wait_until(
                lambda: _first_running(store) is None,
                timeout=300,
                interval=0.5,
                message=lambda: f"no execution running (one is: {_first_running(store)})",
                notifier=store.notifier,
            )
        records = _all(store)
        assert sorted(r.name for r in records) == sorted(f"e{n}" for n in range(COUNT))
        assert {r.status for r in records} == {"Succeeded"}
        for r in records:
            n = int(r.name[1:])
            assert json.loads(r.output or "") == {"n": n, "done": "yes"}, r.name
            assert r.stopped_ms is not None and r.stopped_ms - r.started_ms >= 1000, r.name  # it did wait
            assert [e.type for e in store.get_history(r.id)] == HISTORY, r.name
    finally:
        store.close()
