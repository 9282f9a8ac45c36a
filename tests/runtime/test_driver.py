"""The driver's apply_now: what a store call may apply in its own transaction."""

from __future__ import annotations

from pathlib import Path

from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.runtime.driver import Driver
from tidegate.store import ExecutionRecord, InboxItem, Work, open_store

FLOW = """version: v1
type: flow
steps:
  - {type: pass, name: only}
"""


def _work(callback_token: str | None) -> Work:
    ex = ExecutionRecord(
        flow_name="f", name="e", definition=FLOW, input="{}", started_ms=1, id=7, callback_token=callback_token
    )
    return Work(execution=ex, inbox=(InboxItem(id=0, execution_id=7, event={"type": "Start"}),))


def test_apply_now_runs_the_engine_for_a_plain_execution_and_leaves_child_flows_to_the_loop(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        driver = Driver(store, TaskTokenSigner(b"k" * 32), owner="o", clock=lambda: 1000)
        write = driver.apply_now(_work(None))
        assert write is not None and write.status == "Succeeded" and write.execution_id == 7
        # A child that reports to its parent when it ends would read the parent inside the caller's transaction.
        assert driver.apply_now(_work("parent-token")) is None
    finally:
        store.close()
