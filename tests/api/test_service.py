"""WorkflowService in-process on a real SQLite store (the operations the REST API and console will reuse)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.scenarios import CALLBACK_FLOW, PASS_FLOW
from tidegate.auth.errors import InvalidTaskToken
from tidegate.auth.tasktoken import TaskTokenSigner
from tidegate.runtime.cron import InvalidCronExpression
from tidegate.runtime.service import InvalidArgument, TaskAlreadyCompleted, WorkflowService
from tidegate.store import open_store

NOW = 1_800_000_000_000


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[WorkflowService]:
    store = open_store(f"sqlite:///{tmp_path / 's.db'}")
    yield WorkflowService(store, TaskTokenSigner(b"k" * 32), clock=lambda: NOW)
    store.close()


def test_names_and_definitions_are_validated(svc: WorkflowService) -> None:
    with pytest.raises(InvalidArgument, match="flow name"):
        svc.create_flow("1bad", PASS_FLOW)
    with pytest.raises(InvalidArgument, match="description"):
        svc.create_flow("ok", PASS_FLOW, description="x" * 1025)
    with pytest.raises(InvalidArgument, match=r"Definition:\d+"):
        svc.create_flow("ok", "version: v1\ntype: flow\nsteps:\n  - type: pass\n")
    with pytest.raises(InvalidArgument, match="FDL"):
        svc.create_flow("ok", PASS_FLOW, flow_type="StateMachine")
    flow = svc.create_flow("ok", PASS_FLOW)
    assert flow.type == "FDL" and flow.created_ms == NOW
    with pytest.raises(InvalidArgument):
        svc.update_flow("ok", definition="steps: 3")
    assert svc.describe_flow("ok").definition == PASS_FLOW


def test_start_is_idempotent_and_snapshots_the_definition(svc: WorkflowService) -> None:
    svc.create_flow("f", CALLBACK_FLOW)
    first, created = svc.start_execution("f", "e1", '{"a": 1}')
    again, created_again = svc.start_execution("f", "e1", '{"a": 1}')
    assert created and not created_again and again.id == first.id
    svc.update_flow("f", definition=PASS_FLOW)
    assert svc.describe_execution("f", "e1").definition == CALLBACK_FLOW
    with pytest.raises(InvalidArgument, match="JSON object"):
        svc.start_execution("f", "e2", '"text"')
    with pytest.raises(InvalidTaskToken):
        svc.start_execution("f", "e3", "{}", callback_token="garbage")
    with pytest.raises(InvalidArgument, match="WaitTimeSeconds"):
        svc.describe_execution("f", "e1", wait_s=61)


def test_reports_need_an_open_task(svc: WorkflowService) -> None:
    svc.create_flow("f", CALLBACK_FLOW)
    record, _ = svc.start_execution("f", "e1")
    # genuine, but the runtime never opened this task
    token = svc.signer.mint("f", "e1", "2.1", execution_id=record.id, flow_id=record.flow_id)
    with pytest.raises(TaskAlreadyCompleted):
        svc.report_task_succeeded(token, "{}")
    with pytest.raises(TaskAlreadyCompleted):
        svc.report_task_failed(svc.signer.mint("gone", "e1", "2.1", execution_id=99, flow_id="x"), "E")
    with pytest.raises(InvalidArgument, match="JSON object"):
        svc.report_task_succeeded(token, "[]")
    with pytest.raises(InvalidArgument, match="error"):
        svc.report_task_failed(token, "")
    with pytest.raises(InvalidTaskToken):
        svc.report_task_succeeded(token[:-2], "{}")


def test_stop_and_history_token(svc: WorkflowService) -> None:
    svc.create_flow("f", CALLBACK_FLOW)
    svc.start_execution("f", "e1")
    with pytest.raises(InvalidArgument, match="0-128 characters"):
        svc.stop_execution("f", "e1", "E" * 129)
    stopped = svc.stop_execution("f", "e1", "E", "c")
    assert (stopped.name, stopped.status, stopped.error, stopped.cause) == ("e1", "Stopped", "E", "c")
    rows, token = svc.get_history("f", "e1")  # stopped without a runtime: written by the store itself
    assert [(r.type, r.detail) for r in rows] == [("ExecutionStopped", '{"error":"E","cause":"c"}')] and token is None
    with pytest.raises(InvalidArgument, match="not running"):
        svc.stop_execution("f", "e1")
    with pytest.raises(InvalidArgument, match="NextToken"):
        svc.get_history("f", "e1", next_token="abc")


def test_schedule_timing_is_set_and_reset(svc: WorkflowService) -> None:
    svc.create_flow("f", PASS_FLOW)
    s = svc.create_schedule("f", "s", "@every 2m")
    assert s.next_fire_ms == NOW + 120_000 and s.payload == "{}" and s.enable
    u = svc.update_schedule("f", "s", cron="0 0 0 * * *", enable=False)
    assert u.next_fire_ms is not None and u.next_fire_ms % 86_400_000 == 0 and not u.enable
    kept = svc.update_schedule("f", "s", description="d")
    assert kept.next_fire_ms == u.next_fire_ms and kept.cron == "0 0 0 * * *"
    with pytest.raises(InvalidCronExpression):
        svc.update_schedule("f", "s", cron="@every 0m")
    with pytest.raises(InvalidArgument, match="payload"):
        svc.create_schedule("f", "s2", "@every 1m", payload="[1]")


def test_due_schedules_fire_once_per_tick(svc: WorkflowService) -> None:
    svc.create_flow("f", PASS_FLOW)
    svc.create_schedule("f", "every_second", "* * * * * *", payload='{"from": "schedule"}')
    svc.create_schedule("f", "off", "* * * * * *", enable=False)
    first_due = svc.describe_schedule("f", "every_second").next_fire_ms
    assert first_due == NOW + 1000
    assert svc.fire_due_schedules(NOW) == []  # nothing due yet
    fired = svc.fire_due_schedules(NOW + 5_500)  # five missed ticks collapse into one firing
    assert [(e.name, e.input) for e in fired] == [(f"every_second-{first_due}", '{"from": "schedule"}')]
    assert svc.fire_due_schedules(NOW + 5_500) == []  # claimed: not again
    assert svc.describe_schedule("f", "every_second").next_fire_ms == NOW + 6_000
    assert len(svc.fire_due_schedules(NOW + 6_000)) == 1
    names = [e.name for e in svc.list_executions("f").items]
    assert names == [f"every_second-{first_due}", f"every_second-{NOW + 6_000}"]


def test_generated_execution_names_can_be_read_back(svc: WorkflowService) -> None:
    """Names the server generates are UUIDs (as the service's), so some start with a digit: reads take them."""
    svc.create_flow("f", PASS_FLOW)
    names = [svc.start_execution("f", None, "{}")[0].name for _ in range(40)]
    assert any(name[0].isdigit() for name in names)  # (10/16)**40 odds that none does
    for name in names:
        assert svc.describe_execution("f", name).name == name
        svc.get_history("f", name)  # no InvalidArgument either
    with pytest.raises(InvalidArgument, match="starting with a letter"):
        svc.start_execution("f", "1chosen", "{}")
    with pytest.raises(InvalidArgument):
        svc.describe_execution("f", "bad name")
