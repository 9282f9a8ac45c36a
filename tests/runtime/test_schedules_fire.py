"""The runtime fires due schedules: the execution runs with the payload as input, once per tick."""

from __future__ import annotations

import json

from tests.runtime.helpers import add_flow, wait_ended
from tests.waiting import wait_until
from tidegate.clock import now_ms
from tidegate.runtime import Runtime, load_signer
from tidegate.runtime.cron import next_fire_ms
from tidegate.store import ScheduleRecord, Store

ECHO = """version: v1
type: flow
steps:
  - type: pass
    name: echo
    outputMappings:
      - {target: got, source: $input.n}
"""


def test_due_schedule_starts_one_execution_with_its_payload(store: Store) -> None:
    add_flow(store, "ticker", ECHO)
    now = now_ms()
    store.create_schedule(
        ScheduleRecord(
            flow_name="ticker",
            name="every-minute",
            id="s1",
            cron="@every 1m",
            payload='{"n": 7}',
            created_ms=now,
            modified_ms=now,
            next_fire_ms=now,
        )
    )
    with Runtime(store, signer=load_signer(store)):
        fired = wait_until(lambda: store.list_executions("ticker").items, message="the scheduled execution")
        done = wait_ended(store, fired[0].id)
    assert done.name == f"every-minute-{now}"
    assert done.status == "Succeeded" and json.loads(done.output or "") == {"got": 7}
    assert len(store.list_executions("ticker").items) == 1
    nxt = store.get_schedule("ticker", "every-minute").next_fire_ms
    assert nxt is not None and nxt >= next_fire_ms("@every 1m", now) - 1000
