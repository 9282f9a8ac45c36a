"""Task tokens of the layout before tokens were bound to executions keep working, for old executions only."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from tests.api.scenarios import CALLBACK_FLOW
from tests.store.helpers import step
from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.runtime.service import TaskAlreadyCompleted, WorkflowService
from tidegate.runtime.tokens import BOUND_SINCE
from tidegate.store import ExecutionRecord, FlowRecord, Store, open_store

KEY = b"k" * 32
NOW = 1_800_000_000_000


def _legacy(flow: str, execution: str, task_key: str) -> str:
    """A token as the previous version minted it: ``v1#flow#exec#task_key#sig``."""
    prefix = f"v1#{flow}#{execution}#{task_key}#"
    mac = base64.b64encode(hmac.new(KEY, prefix.encode(), hashlib.sha1).digest()).decode()
    return base64.urlsafe_b64encode((prefix + mac).encode()).decode().rstrip("=")


def _waiting(store: Store, record: ExecutionRecord) -> None:
    """Open the task ``2.1`` of an execution (as the runtime does when its callback step starts)."""
    store.commit([step(record, tasks_open=["2.1"])])


def test_old_layout_tokens_reach_only_executions_started_before_the_upgrade(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        # An execution started by the previous version (no setting written), waiting on its callback.
        store.create_flow(FlowRecord(name="f", id="flow-1", definition=CALLBACK_FLOW, created_ms=1, modified_ms=1))
        old, _ = store.create_execution(
            ExecutionRecord(flow_name="f", name="old", definition="", input="{}", started_ms=NOW - 60_000),
            {"type": "Start"},
        )
        _waiting(store, old)
        assert store.get_setting(BOUND_SINCE) is None

        svc = WorkflowService(store, TaskTokenSigner(KEY), clock=lambda: NOW)  # the upgrade
        assert store.get_setting(BOUND_SINCE) == str(NOW)
        new, _ = svc.start_execution("f", "new")
        _waiting(store, store.get_execution_by_id(new.id))

        # The old execution's token from before the upgrade still completes its task...
        assert svc.report_task_succeeded(_legacy("f", "old", "2.1"), "{}") > 0
        # ...but a token of that layout never reaches an execution started afterwards.
        with pytest.raises(TaskAlreadyCompleted):
            svc.report_task_succeeded(_legacy("f", "new", "2.1"), "{}")
        task = store.get_task(new.id, "2.1")
        assert task is not None and task.status == "open"
        bound = svc.signer.mint("f", "new", "2.1", execution_id=new.id, flow_id=new.flow_id)
        assert svc.report_task_succeeded(bound, "{}") > 0
    finally:
        store.close()
