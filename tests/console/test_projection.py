"""The execution projection and the graph tree, on histories produced by the real (pure) engine."""

from __future__ import annotations

import json
from typing import Any

from tests.console.flows import CAUGHT, MIXED, big_flow
from tidegate.console.graph import flow_graph
from tidegate.console.projection import project
from tidegate.engine import InvokeTask, TaskFailed, TaskSucceeded, apply, start
from tidegate.flow import load_flow
from tidegate.store import HistoryRow

TOPIC = (
    "version: v1\ntype: flow\nsteps:\n  - type: task\n    name: mns-topic-task\n"
    "    resourceArn: acs:mns:::/topics/t/messages\n    pattern: waitForCallback\n"
)


def rows(events: list[Any]) -> list[HistoryRow]:
    return [
        HistoryRow(
            execution_id=1,
            event_id=e.event_id,
            schedule_event_id=e.schedule_event_id,
            type=str(e.type),
            step_name=e.step_name,
            time_ms=e.time_ms,
            detail=json.dumps(e.detail),
        )
        for e in events
    ]


def run(text: str, payload: dict[str, Any]) -> tuple[Any, Any]:
    flow = load_flow(text)
    t = start(flow, flow_name="f", execution_name="e", input=payload, now_ms=1000, minter=lambda k: "tok-" + k)
    return flow, t


def by_name(flow: Any, states: dict[str, Any]) -> dict[str, str]:
    return {flow.steps_by_path[p].name: s["status"] for p, s in states.items()}


def test_failed_foreach_item_marks_the_failing_step_and_its_owners() -> None:
    flow, t = run(MIXED, {"kind": "b", "items": [1, 2, 3]})
    assert t.status == "Failed"
    states = project(flow, rows(t.events)).node_states()
    names = by_name(flow, states)
    assert names["boom"] == "failed"
    assert names["each"] == "failed" and names["fan"] == "failed"
    assert names["left"] == "succeeded" and names["route"] == "succeeded"
    assert "chose-a" not in names and "after-choice" not in names and "never" not in names  # not reached
    boom = next(s for p, s in states.items() if flow.steps_by_path[p].name == "boom")
    assert boom["error"] == "Bad.Item" and boom["cause"] == "item 2 is not allowed"
    check = next(s for p, s in states.items() if flow.steps_by_path[p].name == "check")
    assert check["runs"] == 2 and check["counts"] == {"succeeded": 1, "failed": 1}  # item 3 never starts


def test_waiting_then_succeeded_task_and_its_attempt() -> None:
    flow, t = run(TOPIC, {})
    assert by_name(flow, project(flow, rows(t.events)).node_states()) == {"mns-topic-task": "waiting"}
    cmd = next(c for c in t.commands if isinstance(c, InvokeTask))
    t2 = apply(flow, t.state, TaskSucceeded(cmd.task_key, {"status": "success"}), now_ms=2000, minter=str)
    projection = project(flow, rows(t.events + t2.events))
    assert by_name(flow, projection.node_states()) == {"mns-topic-task": "succeeded"}
    [r] = projection.runs["steps[0]"]
    assert r.output == {"status": "success"} and r.attempts[0].status == "succeeded"
    assert r.attempts[0].task_key == cmd.task_key and r.attempts[0].output == {"status": "success"}


def test_caught_failure_is_caught_and_goto_skips() -> None:
    flow, t = run(CAUGHT, {})
    cmd = next(c for c in t.commands if isinstance(c, InvokeTask))
    t2 = apply(flow, t.state, TaskFailed(cmd.task_key, "Oops", "bad"), now_ms=2000, minter=str)
    states = by_name(flow, project(flow, rows(t.events + t2.events)).node_states())
    assert states == {"call": "caught", "recover": "succeeded"}


def test_open_steps_are_cancelled_when_the_execution_ends() -> None:
    from tidegate.engine import StopRequested

    flow, t = run(TOPIC, {})
    t2 = apply(flow, t.state, StopRequested("Stop.ByUser", "enough"), now_ms=2000, minter=str)
    projection = project(flow, rows(t.events + t2.events))
    assert by_name(flow, projection.node_states()) == {"mns-topic-task": "cancelled"}
    assert projection.runs["steps[0]"][0].attempts[0].status == "cancelled"


def test_graph_tree_has_every_step_blocks_and_gotos() -> None:
    flow = load_flow(MIXED)
    graph = flow_graph(flow)
    assert graph["count"] == 9
    route, _, fan, _ = graph["steps"]
    assert route["kind"] == "choice" and [b["label"] for b in route["blocks"]] == ['$.kind == "a"', "default"]
    assert route["blocks"][1]["goto"] == "fan"
    assert fan["kind"] == "parallel" and fan["blocks"][1]["steps"][0]["kind"] == "foreach"
    boom = fan["blocks"][1]["steps"][0]["blocks"][0]["steps"][0]["blocks"][0]["steps"][0]
    assert boom["name"] == "boom" and boom["falls"] is False
    caught = flow_graph(load_flow(CAUGHT))["steps"][0]
    assert caught["kind"] == "catch" and caught["blocks"][0]["goto"] == "recover"


def test_paths_in_graph_are_the_model_paths() -> None:
    flow = load_flow(big_flow(3))
    seen: list[str] = []

    def walk(nodes: list[Any]) -> None:
        for n in nodes:
            seen.append(n["path"])
            for b in n["blocks"]:
                walk(b["steps"])

    walk(flow_graph(flow)["steps"])
    assert sorted(seen) == sorted(flow.steps_by_path)


def test_attempts_carry_a_function_invocations_request_log_and_stack() -> None:
    from tidegate.engine import TaskSubmitted

    flow, t = run(TOPIC, {})
    cmd = next(c for c in t.commands if isinstance(c, InvokeTask))
    sent = apply(
        flow,
        t.state,
        TaskSubmitted(cmd.task_key, {"requestId": "r-1", "logTail": "sent\n", "logBytes": 5}),
        now_ms=2000,
        minter=str,
    )
    [attempt] = project(flow, rows(t.events + sent.events)).runs["steps[0]"][0].attempts
    assert attempt.status == "waiting"
    assert (attempt.request_id, attempt.log_tail, attempt.log_bytes, attempt.stack_trace) == ("r-1", "sent\n", 5, None)

    report = {"requestId": "r-2", "logTail": "<b>x</b>\n", "logBytes": 9000, "stackTrace": ["  File a", "  File b"]}
    done = apply(flow, sent.state, TaskFailed(cmd.task_key, "Oops", "bad", report), now_ms=3000, minter=str)
    doc = project(flow, rows(t.events + sent.events + done.events)).runs["steps[0]"][0].attempts[0].to_json()
    assert doc["status"] == "failed" and (doc["error"], doc["cause"]) == ("Oops", "bad")
    assert (doc["request_id"], doc["log_tail"], doc["log_bytes"]) == ("r-2", "<b>x</b>\n", 9000)
    assert doc["stack_trace"] == ["  File a", "  File b"]


def test_malformed_invocation_fields_are_left_out() -> None:
    flow, t = run(TOPIC, {})
    cmd = next(c for c in t.commands if isinstance(c, InvokeTask))
    odd = {"requestId": 7, "logTail": ["x"], "logBytes": True, "stackTrace": ["ok", 3]}
    done = apply(flow, t.state, TaskSucceeded(cmd.task_key, {}, odd), now_ms=2000, minter=str)
    doc = project(flow, rows(t.events + done.events)).runs["steps[0]"][0].attempts[0].to_json()
    assert doc["status"] == "succeeded"
    assert [doc[k] for k in ("request_id", "log_tail", "log_bytes", "stack_trace")] == [None] * 4
