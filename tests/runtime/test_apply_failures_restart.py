"""A server restarted while a poisoned execution backs off keeps the back-off and still ends it Failed.

The attempt count and the next attempt's time are in the execution's row: a restart resumes the count
(no tight loop of fresh attempts) and the execution ends after the same bounded number of attempts.
"""

from __future__ import annotations

from pathlib import Path

from tests.runtime.helpers import add_flow
from tests.server import TEST_KEYS, ServerProcess
from tests.waiting import wait_until
from tidegate.engine import start_event
from tidegate.runtime.driver import APPLY_ATTEMPTS
from tidegate.store import ExecutionRecord, open_store

PASS_FLOW = "version: v1\ntype: flow\nsteps:\n  - {type: pass, name: only}\n"


def test_a_restart_mid_backoff_resumes_the_count_and_ends_the_execution_failed(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data", env=TEST_KEYS)
    srv.start()
    store = open_store(f"sqlite:///{(tmp_path / 'data' / 'tidegate.db').resolve()}")
    try:
        add_flow(store, "f", PASS_FLOW)
        # Written below the API (which would refuse it): an input the engine cannot handle.
        record = ExecutionRecord(flow_name="f", name="poisoned", definition="", input='{"a":"\\ud800"}', started_ms=1)
        created, _ = store.create_execution(record, start_event())
        wait_until(lambda: store.get_execution_by_id(created.id).apply_failures >= 2, message="two failed attempts")
        srv.restart()

        def ended_record() -> ExecutionRecord | None:
            current = store.get_execution_by_id(created.id)
            return current if current.ended else None

        ended = wait_until(ended_record, timeout=60, message="the execution to end")
    finally:
        srv.stop()
        store.close()
    assert (ended.status, ended.error) == ("Failed", "FnF.RuntimeError")
    assert ended.cause is not None and ended.cause.startswith(
        f"applying the execution's events failed {APPLY_ATTEMPTS} times"
    )
    # Across both server runs: one line per attempt, no more -- the restart did not start the count again.
    lines = [line for line in srv.log().splitlines() if "f/poisoned: applying its events failed (attempt" in line]
    assert [f"attempt {i} of {APPLY_ATTEMPTS}" in line for i, line in enumerate(lines, 1)] == [True] * APPLY_ATTEMPTS
