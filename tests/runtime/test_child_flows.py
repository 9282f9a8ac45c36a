"""Child flows (``acs:fnf:::flow/NAME``) and ``fnf:StartExecution`` through the runtime, on both stores."""

from __future__ import annotations

import json

from tests.runtime.helpers import add_flow, start, wait_ended
from tests.waiting import wait_until
from tidegate.engine import StopRequested, TaskSucceeded
from tidegate.runtime import Runtime, load_signer
from tidegate.store import ExecutionRecord, Store

CHILD_OK = """version: v1
type: flow
steps:
  - type: pass
    name: audit
    outputMappings:
      - {target: audited, source: true}
      - {target: echo, source: $input.who}
"""

CHILD_FAIL = """version: v1
type: flow
steps:
  - {type: fail, name: nope, error: AuditErrorNeedsRetry, cause: "needs another look"}
"""

CHILD_WAITS = """version: v1
type: flow
steps:
  - {type: wait, name: long, duration: 3600}
"""


def parent(child: str, pattern: str, extra: str = "") -> str:
    return f"""version: v1
type: flow
steps:
  - type: task
    name: call
    resourceArn: acs:fnf:::flow/{child}
    pattern: {pattern}
{extra}
  - {{type: pass, name: after}}
"""


CATCHING = """    catch:
      - errors: [AuditErrorNeedsRetry, AnyCustomError]
        goto: handled
  - type: pass
    name: unreachable
    end: true
  - type: pass
    name: handled
    outputMappings:
      - {target: handled, source: true}"""


def child_of(store: Store, flow: str) -> ExecutionRecord | None:
    items = store.list_executions(flow).items
    return items[0] if items else None


def test_sync_child_output_becomes_the_task_local(store: Store) -> None:
    add_flow(store, "child", CHILD_OK)
    add_flow(store, "main", parent("child", "sync", "    inputMappings:\n      - {target: who, source: $input.who}"))
    with Runtime(store, signer=load_signer(store)):
        rec = wait_ended(store, start(store, "main", {"who": "ann"}).id)
    assert rec.status == "Succeeded", (rec.error, rec.cause)
    assert json.loads(rec.output or "") == {"audited": True, "echo": "ann"}  # the flow output is its local
    child = child_of(store, "child")
    assert child is not None and child.status == "Succeeded" and json.loads(child.input) == {"who": "ann"}


def test_sync_child_failure_is_caught_by_its_error_name(store: Store) -> None:
    add_flow(store, "child", CHILD_FAIL)
    add_flow(store, "main", parent("child", "sync", CATCHING))
    with Runtime(store, signer=load_signer(store)):
        rec = wait_ended(store, start(store, "main").id)
    assert rec.status == "Succeeded", (rec.error, rec.cause)
    assert json.loads(rec.output or "") == {"handled": True}
    steps = [h.step_name for h in store.get_history(rec.id) if h.type == "StepEntered"]
    assert steps == ["call", "handled", "after"]


def test_uncaught_child_failure_fails_the_parent_with_the_childs_error(store: Store) -> None:
    add_flow(store, "child", CHILD_FAIL)
    add_flow(store, "main", parent("child", "sync"))
    with Runtime(store, signer=load_signer(store)):
        rec = wait_ended(store, start(store, "main").id)
    assert (rec.status, rec.error, rec.cause) == ("Failed", "AuditErrorNeedsRetry", "needs another look")


def test_stopping_a_sync_child_fails_the_parent_task_with_the_stop_error(store: Store) -> None:
    """post-execution-actions: StopExecution(child, Error=AnyCustomError) is caught by the parent."""
    add_flow(store, "child", CHILD_WAITS)
    add_flow(store, "main", parent("child", "sync", CATCHING))
    with Runtime(store, signer=load_signer(store)):
        main = start(store, "main")
        child = wait_until(lambda: child_of(store, "child"), message="the child execution")
        wait_until(lambda: any(h.type == "StepEntered" for h in store.get_history(child.id)), message="a child step")
        assert store.append_inbox(child.id, StopRequested(error="AnyCustomError", cause="stopped").to_dict())
        rec = wait_ended(store, main.id)
    assert store.get_execution_by_id(child.id).status == "Stopped"
    assert rec.status == "Succeeded" and json.loads(rec.output or "") == {"handled": True}


def test_request_response_child_returns_at_once_and_runs_on(store: Store) -> None:
    add_flow(store, "child", CHILD_OK)
    add_flow(store, "main", parent("child", "requestResponse"))
    with Runtime(store, signer=load_signer(store)):
        rec = wait_ended(store, start(store, "main").id)
        child = wait_until(lambda: child_of(store, "child"), message="the child execution")
        child = wait_ended(store, child.id)
    out = json.loads(rec.output or "")
    assert out["FlowName"] == "child" and out["Name"] == child.name and out["ExecutionName"] == child.name
    assert child.status == "Succeeded"


def test_wait_for_callback_child_reports_the_parent_token(store: Store) -> None:
    add_flow(store, "child", CHILD_WAITS)
    mappings = "    inputMappings:\n      - {target: token, source: $context.task.token}"
    add_flow(store, "main", parent("child", "waitForCallback", mappings))
    signer = load_signer(store)
    with Runtime(store, signer=signer):
        main = start(store, "main")
        child = wait_until(lambda: child_of(store, "child"), message="the child execution")
        token = json.loads(child.input)["token"]
        flow_name, exec_name, task_key = signer.parse(token)
        assert (flow_name, exec_name) == ("main", main.name)
        wait_until(lambda: any(h.type == "TaskSubmitted" for h in store.get_history(main.id)), message="TaskSubmitted")
        event = TaskSucceeded(task_key=task_key, output={"from": "child"}).to_dict()
        assert store.complete_task(main.id, task_key, event)
        assert not store.complete_task(main.id, task_key, event)  # a second report is refused
        rec = wait_ended(store, main.id)
    assert rec.status == "Succeeded" and json.loads(rec.output or "") == {"from": "child"}


def test_missing_child_flow_fails_the_task_clearly(store: Store) -> None:
    add_flow(store, "main", parent("ghost", "sync"))
    with Runtime(store, signer=load_signer(store)):
        rec = wait_ended(store, start(store, "main").id)
    assert (rec.status, rec.error) == ("Failed", "FnF.FlowNotExists")
    assert "ghost" in (rec.cause or "")


def test_fnf_start_execution_action(store: Store) -> None:
    add_flow(store, "child", CHILD_OK)
    add_flow(
        store,
        "main",
        """version: v1
type: flow
steps:
  - type: task
    name: fork
    action: fnf:StartExecution
    serviceParams:
      FlowName: child
      ExecutionName: $.name
      Input: $
""",
    )
    with Runtime(store, signer=load_signer(store)):
        rec = wait_ended(store, start(store, "main", {"name": "kid1", "who": "bo"}).id)
        assert rec.status == "Succeeded", (rec.error, rec.cause)
        assert json.loads(rec.output or "")["Name"] == "kid1"
        child = wait_ended(store, store.get_execution("child", "kid1").id)
        again = wait_ended(store, start(store, "main", {"name": "kid1"}).id)
    assert child.status == "Succeeded"
    assert (again.status, again.error) == ("Failed", "fnf.ExecutionAlreadyExists")
