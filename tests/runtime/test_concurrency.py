"""A thousand concurrent executions of a flow with a 1-second wait finish in seconds, not in a thousand.

Runs on SQLite (a tmp file) and on PostgreSQL (a fresh schema, as ``tests/store/conftest.py`` isolates).
The executions are all created while one :class:`Runtime` drives the store; the test waits on the store's
end-of-execution notifications with a deadline and then checks every execution's output and timing.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.store.conftest import store_url  # noqa: F401  (fixture: an empty store of each backend)
from tidegate.clock import now_ms
from tidegate.runtime import START, Runtime, load_signer
from tidegate.status import ExecutionStatus
from tidegate.store import ExecutionRecord, FlowRecord, Store, execution_channel, open_store

COUNT = 1000
LIMIT_S = 15.0
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


def _wait_all_ended(store: Store, deadline: float) -> None:
    """Wait until no execution runs: sleep on the end notification of one still running, re-check."""
    while True:
        seq = store.notifier.seq()
        running = _first_running(store)
        if running is None:
            return
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"executions still running at the deadline, e.g. {running.name}"
        store.notifier.wait(execution_channel(running.id), min(remaining, 0.5), since=seq)


def test_a_thousand_one_second_waits_finish_in_seconds(store_url: str) -> None:  # noqa: F811
    store = open_store(store_url)
    try:
        now = now_ms()
        store.create_flow(
            FlowRecord(name="sleepy", id=str(uuid.uuid4()), definition=FLOW, created_ms=now, modified_ms=now)
        )
        with Runtime(store, signer=load_signer(store), workers=2):
            t0 = time.monotonic()
            # Started by a few concurrent clients, as through the API.
            with ThreadPoolExecutor(max_workers=4) as clients:
                list(clients.map(lambda n: _start(store, n), range(COUNT)))
            created = time.monotonic() - t0
            _wait_all_ended(store, t0 + LIMIT_S + 30)
            elapsed = time.monotonic() - t0
        backend = store_url.split(":", 1)[0]
        print(
            f"\n{backend}: {COUNT} executions with a 1 s wait: created in {created:.2f} s, "
            f"all ended {elapsed:.2f} s after the first start"
        )
        assert elapsed < LIMIT_S, f"{COUNT} executions took {elapsed:.1f} s"
        records = _all(store)
        assert len(records) == COUNT
        assert {r.status for r in records} == {"Succeeded"}
        for r in records:
            n = int(r.name[1:])
            assert json.loads(r.output or "") == {"n": n, "done": "yes"}, r.name
            assert r.stopped_ms is not None and r.stopped_ms - r.started_ms >= 1000, r.name
    finally:
        store.close()
