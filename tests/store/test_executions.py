"""Creating, reading and listing executions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.store.helpers import make_flow, start, step
from tidegate.status import ExecutionStatus
from tidegate.store import (
    ExecutionAlreadyExists,
    ExecutionNotFound,
    ExecutionRecord,
    FlowNotFound,
    InvalidPageToken,
    Store,
)


def _record(name: str, flow: str = "flow1") -> ExecutionRecord:
    return ExecutionRecord(flow_name=flow, name=name, definition="d", input='{"a":1}', started_ms=10)


def test_create_execution_puts_start_event_in_inbox(store: Store) -> None:
    make_flow(store)
    record, created = store.create_execution(
        _record(
            "e1",
        ),
        {"type": "Start"},
    )
    assert created and record.id > 0 and record.status == "Running"
    assert (record.version, record.state, record.event_count, record.input) == (0, None, 0, '{"a":1}')
    work = store.claim_work("w", 10, 60_000, now_ms=10)
    assert [w.execution.id for w in work] == [record.id]
    assert [i.event for i in work[0].inbox] == [{"type": "Start"}]
    assert store.get_execution("flow1", "e1") == store.get_execution_by_id(record.id)


def test_create_execution_is_idempotent_while_running(store: Store) -> None:
    make_flow(store)
    first, created = store.create_execution(_record("e1"), {"type": "Start"})
    again, created_again = store.create_execution(_record("e1"), {"type": "Start", "dup": True})
    assert created and not created_again and again.id == first.id
    work = store.claim_work("w", 10, 60_000, now_ms=10)
    assert len(work[0].inbox) == 1  # the duplicate start added no event


def test_create_execution_after_end_conflicts(store: Store) -> None:
    make_flow(store)
    record, _ = store.create_execution(_record("e1"), {"type": "Start"})
    store.commit([step(record, status="Succeeded", output="{}", stopped_ms=20)])
    with pytest.raises(ExecutionAlreadyExists) as err:
        store.create_execution(_record("e1"), {"type": "Start"})
    assert err.value.code == "ExecutionAlreadyExists"


def test_create_execution_needs_the_flow_and_an_active_status(store: Store) -> None:
    with pytest.raises(FlowNotFound):
        store.create_execution(_record("e1", flow="missing"), {"type": "Start"})
    make_flow(store)
    with pytest.raises(ValueError):
        store.create_execution(replace(_record("e1"), status=ExecutionStatus.SUCCEEDED), {"type": "Start"})
    assert store.list_executions("flow1").items == []


def test_unknown_execution(store: Store) -> None:
    make_flow(store)
    with pytest.raises(ExecutionNotFound):
        store.get_execution("flow1", "nope")
    with pytest.raises(ExecutionNotFound):
        store.get_execution_by_id(12345)
    with pytest.raises(FlowNotFound):
        store.get_execution("nope", "nope")


def test_callback_token_is_kept(store: Store) -> None:
    make_flow(store)
    record = start(store, "child", callback_token="parent-token")
    assert store.get_execution_by_id(record.id).callback_token == "parent-token"


def test_list_executions_filters(store: Store) -> None:
    make_flow(store)
    make_flow(store, "other")
    a = start(store, "alpha-1", started_ms=100)
    start(store, "alpha-2", started_ms=200)
    start(store, "beta-1", started_ms=300)
    start(store, "alpha-x", flow="other", started_ms=150)
    store.commit([step(a, status="Failed", error="E", cause="c", stopped_ms=400)])

    def names(**kw: object) -> list[str]:
        return [e.name for e in store.list_executions("flow1", **kw).items]  # type: ignore[arg-type]

    assert names() == ["alpha-1", "alpha-2", "beta-1"]
    assert names(status="Running") == ["alpha-2", "beta-1"]
    assert names(status="Failed") == ["alpha-1"]
    assert names(name_prefix="alpha") == ["alpha-1", "alpha-2"]
    assert names(name_prefix="alpha%") == []  # a prefix is literal, not a LIKE pattern
    assert names(started_from_ms=200) == ["alpha-2", "beta-1"]
    assert names(started_to_ms=200) == ["alpha-1", "alpha-2"]
    assert names(started_from_ms=150, started_to_ms=250, name_prefix="alpha") == ["alpha-2"]
    with pytest.raises(FlowNotFound):
        store.list_executions("missing")


def test_list_executions_pages_in_start_order_then_id(store: Store) -> None:
    make_flow(store)
    expected = []
    for i in range(11):
        # Several executions share a start time: the id breaks the tie, so no page repeats or skips one.
        start(store, f"e{i:02d}", started_ms=1000 + (i // 3))
        expected.append(f"e{i:02d}")
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        page = store.list_executions("flow1", limit=4, next_token=token)
        pages += 1
        seen += [e.name for e in page.items]
        token = page.next_token
        if token is None:
            break
    assert seen == expected and pages == 3
    with pytest.raises(InvalidPageToken):
        store.list_executions("flow1", next_token="garbage")
