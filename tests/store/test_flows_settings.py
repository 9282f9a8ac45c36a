"""Settings and flows."""

from __future__ import annotations

import threading

import pytest

from tests.store.helpers import make_flow, start
from tidegate.store import (
    ExecutionNotFound,
    FlowAlreadyExists,
    FlowNotFound,
    ScheduleNotFound,
    ScheduleRecord,
    Store,
)


def test_settings_put_if_absent_keeps_the_first_value(store: Store) -> None:
    assert store.get_setting("secret") is None
    assert store.put_setting_if_absent("secret", "a") == "a"
    assert store.put_setting_if_absent("secret", "b") == "a"
    assert store.get_setting("secret") == "a"


def test_replace_setting_writes_or_overwrites_one_key(store: Store) -> None:
    store.replace_setting("k", "new")
    assert store.get_setting("k") == "new"
    store.put_setting_if_absent("other", "kept")
    store.replace_setting("k", "newer")
    assert (store.get_setting("k"), store.get_setting("other")) == ("newer", "kept")
    assert store.put_setting_if_absent("k", "ignored") == "newer"


def test_settings_race_has_one_winner(store: Store) -> None:
    results: list[str] = []
    barrier = threading.Barrier(8)

    def put(i: int) -> None:
        barrier.wait()
        results.append(store.put_setting_if_absent("key", f"v{i}"))

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 8 and len(set(results)) == 1
    assert store.get_setting("key") == results[0]


def test_create_get_update_flow(store: Store) -> None:
    flow = make_flow(store, "f")
    assert store.get_flow("f") == flow
    with pytest.raises(FlowAlreadyExists):
        make_flow(store, "f")
    updated = store.update_flow("f", modified_ms=99, description="new", definition="v2")
    assert (updated.description, updated.definition, updated.role_arn, updated.modified_ms) == (
        "new",
        "v2",
        "",
        99,
    )
    assert updated.created_ms == flow.created_ms and updated.id == flow.id
    with pytest.raises(FlowNotFound):
        store.update_flow("nope", modified_ms=1, description="x")
    with pytest.raises(TypeError):
        store.update_flow("f", modified_ms=1, bogus="other")
    with pytest.raises(FlowNotFound) as err:
        store.get_flow("nope")
    assert err.value.code == "FlowNotExists"


def test_list_flows_pages_by_name(store: Store) -> None:
    names = [f"flow{i:02d}" for i in range(7)]
    for name in reversed(names):
        make_flow(store, name)
    seen: list[str] = []
    token: str | None = None
    while True:
        page = store.list_flows(limit=3, next_token=token)
        assert len(page.items) <= 3
        seen += [f.name for f in page.items]
        token = page.next_token
        if token is None:
            break
    assert seen == names


def test_delete_flow_cascades_schedules_and_hides_executions(store: Store) -> None:
    make_flow(store, "flow1")
    start(store, "e1")
    store.create_schedule(
        ScheduleRecord(flow_name="flow1", name="s", id="sid", cron="@every 1m", created_ms=1, modified_ms=1)
    )
    store.delete_flow("flow1")
    with pytest.raises(FlowNotFound):
        store.delete_flow("flow1")
    with pytest.raises(FlowNotFound):
        store.get_execution("flow1", "e1")
    with pytest.raises(ScheduleNotFound):
        store.get_schedule("flow1", "s")
    # A new flow of the same name starts empty, and the old execution name is free again.
    make_flow(store, "flow1")
    assert store.list_executions("flow1").items == []
    with pytest.raises(ExecutionNotFound):
        store.get_execution("flow1", "e1")
    assert start(store, "e1").name == "e1"
