"""Conformance scenarios drawn from the real corpus flows and their READMEs (the engine part)."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import CORPUS
from tests.engine.harness import LATER, Harness, fail, ok
from tidegate import engine as E
from tidegate.engine import EventType
from tidegate.flow import load_flow


def corpus(name: str, scripts: dict | None = None, **kw: object) -> Harness:  # type: ignore[type-arg]
    path = CORPUS / name
    return Harness(load_flow(path.read_text(), source=path.name), scripts or {}, **kw)  # type: ignore[arg-type]


def test_f1_callback_output_becomes_flow_output() -> None:
    h = corpus("awesome-fnf__wait-for-callback-task__wait-for-callback-task.flow.yaml", {"test": LATER})
    h.run({"serviceName": "S", "functionName": "F"})
    assert h.status() is E.ExecutionStatus.RUNNING and h.output is None
    inv = h.invocations[0]
    assert inv.input == {"serviceName": "S", "functionName": "F", "taskToken": inv.token}
    out = {"status": f"report task with token: {inv.token}"}
    h.report("test", out)
    assert h.status() is E.ExecutionStatus.SUCCEEDED and h.output == out


def test_f1_retry_of_a_callback_task_hands_out_a_new_token() -> None:
    h = corpus("awesome-fnf__wait-for-callback-task__wait-for-callback-task.flow.yaml", {"test": LATER})
    h.run({"serviceName": "S", "functionName": "F"})
    h.report_failed("test", "FC.Unknown", "boom")
    h.advance(1000)
    first, second = h.invocations
    assert second.token != first.token and second.input["taskToken"] == second.token
    with pytest.raises(E.StaleEvent):
        h.send(E.TaskSucceeded(first.task_key, {}))


def test_f3_first_report_wins_later_ones_are_stale() -> None:
    h = corpus("awesome-fnf__parallel-wait-any-demo__flows__main.flow.yaml", {"subflow": LATER}).run({})
    inv = h.invocations[0]
    assert inv.resource.kind == "fnf-flow" and inv.params == {"Input": {"task_token": inv.token}}
    h.send(E.TaskSucceeded(inv.task_key, {"winner": 1}))
    for n in (2, 3):
        with pytest.raises(E.StaleEvent):
            h.send(E.TaskSucceeded(inv.task_key, {"winner": n}))
    assert h.status() is E.ExecutionStatus.SUCCEEDED and h.output == {"winner": 1}


TRIP = "awesome-fnf__trip-booking-order-processing__flows__tripOrderProcessing.flow.yaml"


def trip_functions(cmd: E.InvokeTask) -> object:
    name = cmd.resource.name
    if cmd.input.get("result") == "failed":
        error = name[0].upper() + name[1:] + "Error"
        return fail(error, f"{name} failed")
    return ok({"transaction_id": f"{name}-tx"})


def trip_input(**failed: str) -> dict[str, str]:
    keys = ["book_train_ticket", "book_flight", "book_hotel", "cancel_flight", "cancel_train_ticket"]
    data = {f"{k}_result": failed.get(k, "succeeded") for k in keys}
    return {"trip_order_id": "trip-1", **data}


def test_f4_saga_compensation() -> None:
    names = ["BookTrainTicket", "BookFlight", "BookHotel", "CancelFlight", "CancelTrainTicket"]
    h = corpus(TRIP, dict.fromkeys(names, trip_functions))
    h.run(trip_input(book_hotel="failed"))
    assert h.entered() == [*names, "OrderFailed1"]
    assert h.status() is E.ExecutionStatus.FAILED
    assert h.output is None  # flow outputMappings are not applied to a failed execution
    cancel = next(c for c in h.invocations if c.step_name == "CancelFlight")
    assert cancel.input == {"result": "succeeded", "transaction_id": "bookFlight-tx"}


def test_f4_happy_path_output() -> None:
    h = corpus(TRIP, {n: trip_functions for n in ("BookTrainTicket", "BookFlight", "BookHotel")}).run(trip_input())
    assert h.entered()[-1] == "OrderSucceeded"
    assert h.status() is E.ExecutionStatus.SUCCEEDED
    assert h.output == {
        "trip_order_id": "trip-1",
        "book_train_ticket_transaction_id": "bookTrainTicket-tx",
        "book_flight_transaction_id": "bookFlight-tx",
        "book_hotel_transaction_id": "bookHotel-tx",
    }


def test_f5_retry_then_catch() -> None:
    h = corpus(TRIP, {"BookTrainTicket": trip_functions, "SendAlert": ok()}).run(trip_input(book_train_ticket="failed"))
    assert len([c for c in h.invocations if c.step_name == "BookTrainTicket"]) == 4
    t0 = 1_000_000
    assert [t.fire_at_ms - t0 for t in h.timer_starts()] == [1000, 3000, 7000]  # waits of 1 s, 2 s, 4 s
    assert h.entered() == ["BookTrainTicket", "OrderFailed"]
    assert h.status() is E.ExecutionStatus.FAILED


def test_f6_foreach_with_wait_for_callback() -> None:
    h = corpus("awesome-fnf__fork-flows__flows__main.yaml", {"startSubflow": LATER})
    h.run({"executionName": "run1", "subflowName": "sub", "keys": ["a", "b", "c"]})
    assert len(h.open) == 3
    tokens = {c.input["key"]: c.input["taskToken"] for c in h.invocations}
    assert len(set(tokens.values())) == 3
    # children report in reverse order; the foreach output keeps collection order
    for key in ("c", "a", "b"):
        cmd = next(c for c in h.invocations if c.input["key"] == key)
        h.send(E.TaskSucceeded(cmd.task_key, {"value": {"key": key, "time": 1}}))
    values = [{"key": k, "time": 1} for k in "abc"]
    assert h.status() is E.ExecutionStatus.SUCCEEDED
    assert h.detail("StepEntered", "join") == {"input": {"my_values": values}}
    assert h.output == {"values": values}


def test_f7_polling_loop_with_fall_through() -> None:
    statuses = iter(["running", "running", "unknown"])
    h = corpus(
        "awesome-fnf__oss-restore__subflow.yaml",
        {"restoreTask": ok({}), "GetJobStatus": lambda cmd: ok({"status": next(statuses)})},
    ).run({"files": ["f1", "f2"], "pollInterval": 3})
    assert h.entered() == (
        ["retoreForeach", "restoreTask", "restoreTask"]
        + ["Wait", "GetJobStatus", "CheckJobComplete"] * 3
        + ["JobSucceeded"]
    )
    assert [t.fire_at_ms for t in h.timer_starts()] == [1_003_000, 1_006_000, 1_009_000]
    assert h.status() is E.ExecutionStatus.SUCCEEDED


def test_f7_polling_loop_success() -> None:
    h = corpus(
        "awesome-fnf__oss-restore__subflow.yaml",
        {"restoreTask": ok({}), "GetJobStatus": ok({"status": "success"})},
    ).run({"files": [], "pollInterval": 1})
    assert h.entered()[-2:] == ["CheckJobComplete", "JobSucceeded"]


def test_f8_event_budget_hands_off_before_the_limit() -> None:
    counter = itertools.count()
    h = corpus(
        "awesome-fnf__oss-batch-copy__flows__copy-oss-files.flow.yaml",
        {
            "copy_files": lambda cmd: ok({"offset_bytes": next(counter)}),
            "start_sub_flow_execution": ok({"done": True}),
        },
    ).run({"region": "r"})
    ids = [
        ev.detail["input"]["event_id"]
        for ev in h.events
        if ev.type is EventType.STEP_ENTERED and ev.step_name == "has_more_files"
    ]
    entered_ids = [
        ev.event_id for ev in h.events if ev.type is EventType.STEP_ENTERED and ev.step_name == "has_more_files"
    ]
    assert ids == entered_ids and ids == sorted(ids)
    assert 4000 <= ids[-1] < E.MAX_EVENTS
    sub = h.invocations[-1]
    assert sub.step_name == "start_sub_flow_execution" and sub.pattern == "sync"
    assert h.status() is E.ExecutionStatus.SUCCEEDED


def test_f10_default_io_merging() -> None:
    h = corpus("alibaba__serverless-vscode__resources__web__flow__src__mocks__mock_ts__flowDefinition.yaml")
    h.run({"key": "process_failed"})
    assert h.detail("StepEntered", "CheckStatus") == {
        "input": {"key": "process_failed", "key1": "value1", "key2": "value2"}
    }
    assert h.entered()[-1] == "ProcessFailed"
    assert h.status() is E.ExecutionStatus.FAILED
    assert [t.fire_at_ms - 1_000_000 for t in h.timer_starts()] == [10_000]


def test_f11_foreach_doc_example_iteration_inputs() -> None:
    h = Harness.of(
        """
version: v1
type: flow
steps:
  - type: foreach
    name: mytask
    iterationMapping: {collection: $.names, item: name}
    steps:
      - {type: task, name: toUpperCase, resourceArn: "acs:fc:::services/s/functions/toUpperCase"}
    outputMappings: [{target: names, source: "$local[*].name"}]
""",
        {"toUpperCase": lambda cmd: ok({"name": cmd.input["name"].upper()})},
    ).run({"names": ["a", "b", "c"]})
    assert [c.input for c in h.invocations] == [{"name": n, "names": ["a", "b", "c"]} for n in "abc"]
    assert h.output == {"names": ["A", "B", "C"]}
