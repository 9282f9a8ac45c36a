"""DeleteFlow through the official SDK: executions stop and vanish from the store, and old task tokens
complete nothing in a flow created again with the same name."""

# ruff: noqa: E501  (the scenarios are SDK call sequences, one call per line)
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.scenarios import CALLBACK_FLOW, HELPERS, PASS_FLOW
from tests.api.sdk import run_scenario
from tests.server import ServerProcess
from tests.store.helpers import step
from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.runtime.service import WorkflowService
from tidegate.store import Store, open_store

TABLES = ("executions", "history", "tasks", "inbox", "timers", "jobs")


@pytest.fixture
def store(server: ServerProcess) -> Iterator[Store]:
    """The server's own store, opened beside it for a direct look at the tables."""
    s = open_store(f"sqlite:///{server.data_dir / 'tidegate.db'}")
    yield s
    s.close()


def _raw(store: Store, sql: str) -> list[dict[str, Any]]:
    db: Any = getattr(store, "db")  # noqa: B009  (the SQL store's database)
    with db.read() as tx:
        rows: list[dict[str, Any]] = tx.raw(sql)
    return rows


def _rows_of(store: Store, ids: list[int]) -> dict[str, int]:
    where = ", ".join(str(int(i)) for i in ids)
    return {
        table: int(
            _raw(
                store,
                f"SELECT COUNT(*) AS n FROM {table} WHERE {'id' if table == 'executions' else 'execution_id'} IN ({where})",
            )[0]["n"]
        )
        for table in TABLES
    }


def _run(server: ServerProcess, body: str, **params: Any) -> dict[str, Any]:
    prelude = HELPERS + "".join(f"{k} = {v!r}\n" for k, v in params.items())
    return run_scenario("fnfcore", server.endpoint, prelude + body)


def test_delete_flow_removes_its_executions_and_old_tokens_complete_nothing(
    server: ServerProcess, store: Store
) -> None:
    flow = "deleted_and_recreated"
    first = _run(
        server,
        """
call("CreateFlow", Name=FLOW, Definition=CB, Description="", Type="FDL")
for i in range(10):
    call("StartExecution", FlowName=FLOW, ExecutionName="e" + str(i))
tokens = {i: wait_token(FLOW, "e" + str(i)) for i in range(10)}
for i in range(3):  # three end, seven stay Running, waiting on their callback
    call("ReportTaskSucceeded", TaskToken=tokens[i], Output='{"by": "old"}')
    out.setdefault("ended", []).append(call("DescribeExecution", FlowName=FLOW, ExecutionName="e" + str(i), WaitTimeSeconds=10)["ok"]["Status"])
out["running"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="e5")["ok"]["Status"]
out["old_token"] = tokens[5]
""",
        FLOW=flow,
        CB=CALLBACK_FLOW,
    )
    assert first["ended"] == ["Succeeded"] * 3 and first["running"] == "Running"
    old_ids = [int(r["id"]) for r in _raw(store, f"SELECT id FROM executions WHERE flow_name = '{flow}'")]
    assert len(old_ids) == 10
    before = _rows_of(store, old_ids)
    assert before["executions"] == 10 and before["history"] > 0 and before["tasks"] == 10

    second = _run(
        server,
        """
out["delete"] = call("DeleteFlow", Name=FLOW)
out["gone"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="e5")
out["old_after_delete"] = call("ReportTaskSucceeded", TaskToken=OLD, Output='{"by": "old"}')
call("CreateFlow", Name=FLOW, Definition=CB, Description="", Type="FDL")
call("StartExecution", FlowName=FLOW, ExecutionName="e5")
new = wait_token(FLOW, "e5")
out["same_token"] = new == OLD
out["old_report"] = call("ReportTaskSucceeded", TaskToken=OLD, Output='{"by": "old"}')
out["old_fail"] = call("ReportTaskFailed", TaskToken=OLD, Error="Old", Cause="")
out["new_untouched"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="e5")["ok"]["Status"]
out["listed"] = [e["Name"] for e in call("ListExecutions", FlowName=FLOW)["ok"]["Executions"]]
out["new_report"] = call("ReportTaskSucceeded", TaskToken=new, Output='{"by": "new"}')
out["new_end"] = call("DescribeExecution", FlowName=FLOW, ExecutionName="e5", WaitTimeSeconds=10)["ok"]
""",
        FLOW=flow,
        CB=CALLBACK_FLOW,
        OLD=first["old_token"],
    )
    assert "ok" in second["delete"]
    assert second["gone"]["error"] == "FlowNotExists"
    assert second["old_after_delete"]["error"] == "TaskAlreadyCompleted"
    # Nothing of the deleted flow is left: no execution, history, task, inbox item, timer or job.
    assert _rows_of(store, old_ids) == dict.fromkeys(TABLES, 0)
    # The re-created flow runs normally and the old token does not reach its execution of the same name.
    assert second["same_token"] is False
    assert second["old_report"]["error"] == "TaskAlreadyCompleted" and second["old_report"]["status"] == 400
    assert second["old_fail"]["error"] == "TaskAlreadyCompleted"
    assert second["new_untouched"] == "Running"
    assert second["listed"] == ["e5"]
    assert "ok" in second["new_report"]
    assert second["new_end"]["Status"] == "Succeeded" and second["new_end"]["Output"] == '{"by":"new"}'
    new_ids = [int(r["id"]) for r in _raw(store, f"SELECT id FROM executions WHERE flow_name = '{flow}'")]
    assert len(new_ids) == 1 and new_ids[0] not in old_ids


def test_many_executions_are_purged_in_the_background(tmp_path: Path) -> None:
    s = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        svc = WorkflowService(s, TaskTokenSigner(b"k" * 32))
        svc.purger.batch = 2
        svc.create_flow("many", PASS_FLOW)
        ids = [svc.start_execution("many", f"e{i}")[0].id for i in range(7)]
        svc.delete_flow("many")  # the first batch in the request, the rest on the purger's thread
        assert svc.purger.idle.wait(30)
        assert _rows_of(s, ids) == dict.fromkeys(TABLES, 0)
        assert s.deleted_flow_ids() == []
        svc.create_flow("many", PASS_FLOW)
        assert svc.start_execution("many", "e0")[1]
        # A deleted flow left behind (e.g. by a stop during its purge) is found by a sweep.
        left = svc.start_execution("many", "e1")[0]
        flow_id = s.delete_flow("many").id
        assert s.deleted_flow_ids() == [flow_id]
        assert svc.purger.sweep() == 1 and svc.purger.idle.wait(30)
        assert _rows_of(s, [left.id]) == dict.fromkeys(TABLES, 0)
    finally:
        s.close()


def test_a_parent_waiting_on_a_child_of_a_deleted_flow_sees_its_task_fail(tmp_path: Path) -> None:
    s = open_store(f"sqlite:///{tmp_path / 's.db'}")
    try:
        svc = WorkflowService(s, TaskTokenSigner(b"k" * 32))
        svc.create_flow("parent", CALLBACK_FLOW)
        svc.create_flow("child", PASS_FLOW)
        parent, _ = svc.start_execution("parent", "p")
        s.commit([step(parent, tasks_open=["2.1"])])  # the parent's task that waits on its child
        token = svc.signer.mint("parent", "p", "2.1", execution_id=parent.id, flow_id=parent.flow_id)
        svc.start_execution("child", "c", callback_token=token)
        svc.delete_flow("child")
        task = s.get_task(parent.id, "2.1")
        assert task is not None and task.status == "done"
        inbox = _raw(s, f"SELECT event FROM inbox WHERE execution_id = {int(parent.id)} ORDER BY id")
        failed = json.loads(inbox[-1]["event"])
        assert failed["error"] == "FnF.FlowDeleted" and failed["task_key"] == "2.1"
        assert s.get_execution_by_id(parent.id).status == "Running"  # the parent's flow decides what follows
    finally:
        s.close()
