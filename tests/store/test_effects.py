"""Transactional effects: writes on the same database that commit (or roll back) with a transition."""

from __future__ import annotations

import pytest

from tests.store.helpers import make_flow, start, step
from tidegate.store import EffectOutcome, Store
from tidegate.store.database import Tx


def _claimed_events(store: Store) -> list[dict[str, object]]:
    work = store.claim_work("w", 10, 1000, now_ms=10**13)
    return [item.event for w in work for item in w.inbox]


def test_effect_outcome_reaches_the_inbox_in_the_same_commit(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    store.claim_work("w", 10, 1000, now_ms=10**13)  # consume nothing; just to show leases do not matter
    store.release([e.id], "w")
    seen: list[Tx] = []

    def effect(tx: Tx) -> EffectOutcome:
        seen.append(tx)
        return EffectOutcome(event={"type": "TaskSubmitted", "task_key": "2.1"})

    store.commit([step(e, tasks_open=["2.1"], effects=[effect])])
    assert len(seen) == 1
    assert {"type": "TaskSubmitted", "task_key": "2.1"} in _claimed_events(store)
    assert store.get_task(e.id, "2.1").status == "open"  # type: ignore[union-attr]


def test_effect_can_complete_its_task(store: Store) -> None:
    make_flow(store)
    e = start(store, "e1")
    done = {"type": "TaskSucceeded", "task_key": "2.1", "output": {}}
    store.commit([step(e, tasks_open=["2.1"], effects=[lambda tx: EffectOutcome(event=done, complete_task="2.1")])])
    assert store.get_task(e.id, "2.1").status == "done"  # type: ignore[union-attr]
    assert done in _claimed_events(store)
    assert not store.complete_task(e.id, "2.1", done)  # a later report is refused


def test_a_raising_effect_rolls_the_whole_batch_back(store: Store) -> None:
    make_flow(store)
    a, b = start(store, "a"), start(store, "b")

    def boom(tx: Tx) -> None:
        raise RuntimeError("effect failed")

    with pytest.raises(RuntimeError):
        store.commit([step(a), step(b, effects=[boom])])
    assert store.get_execution_by_id(a.id).version == a.version
    assert store.get_history(a.id) == [] and store.get_history(b.id) == []
