"""Compare a recovered execution's history with an uninterrupted run's, independently of interleaving.

Parallel branches interleave their events in whatever order their tasks finish, so two correct runs of
the same flow need not have the same *global* event order. What is fixed is the tree that
``ScheduleEventId`` draws: every event hangs under the event that opened its scope, and the events under
one scope (one step list, one step, one task attempt) come in a fixed order. :func:`shape` returns that
ordered tree, with the details that do not depend on the run (times and task tokens dropped), so equal
shapes mean: no event lost, none duplicated, none reordered within its scope, same data everywhere.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from tidegate.store import HistoryRow, Store

Shape = tuple[str, str, str, tuple[Any, ...]]

# Per run: the task token (minted with the store's own key), a function invocation's request id and stack
# trace (it names the run's own copy of the code folder) and the clock. Nothing else may differ.
_RUN_SPECIFIC = frozenset({"token", "taskToken", "requestId", "stackTrace"})


def read_history(store: Store, execution_id: int) -> list[HistoryRow]:
    """The whole history of an execution, ascending."""
    rows: list[HistoryRow] = []
    while True:
        page = store.get_history(execution_id, after_event_id=rows[-1].event_id if rows else 0)
        if not page:
            return rows
        rows.extend(page)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in sorted(value.items()) if k not in _RUN_SPECIFIC}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def check_dense(rows: Sequence[HistoryRow]) -> None:
    """Assert the ids are 1..n and every ScheduleEventId names an earlier event (0 only for the start)."""
    assert [r.event_id for r in rows] == list(range(1, len(rows) + 1)), "event ids are not dense"
    for r in rows:
        if r.type == "ExecutionStarted":
            assert r.schedule_event_id == 0, r
        else:
            assert 1 <= r.schedule_event_id < r.event_id, f"bad ScheduleEventId: {r}"


def shape(rows: Sequence[HistoryRow]) -> Shape:
    """The scope tree of a history: ``(type, step, detail, children)`` from the ExecutionStarted event."""
    check_dense(rows)
    children: dict[int, list[HistoryRow]] = {}
    for r in rows:
        children.setdefault(r.schedule_event_id, []).append(r)

    def node(r: HistoryRow) -> Shape:
        detail = json.dumps(_scrub(json.loads(r.detail)), sort_keys=True)
        return (r.type, r.step_name, detail, tuple(node(c) for c in children.get(r.event_id, [])))

    roots = children.get(0, [])
    assert len(roots) == 1 and roots[0].type == "ExecutionStarted", "one ExecutionStarted at the root"
    return node(roots[0])


def scoped_keys(rows: Sequence[HistoryRow]) -> Counter[tuple[str, str, str]]:
    """Count ``(type, step, scope)`` where scope is the type/step path of the ScheduleEventId chain.

    This is the (type, step, schedule id) key made comparable across runs, whose event ids differ.
    """
    by_id = {r.event_id: r for r in rows}

    def path(event_id: int) -> str:
        parts = []
        while event_id:
            r = by_id[event_id]
            parts.append(f"{r.type}:{r.step_name}")
            event_id = r.schedule_event_id
        return "/".join(reversed(parts))

    return Counter((r.type, r.step_name, path(r.schedule_event_id)) for r in rows)


def types(rows: Sequence[HistoryRow]) -> list[str]:
    """The event types in event-id order."""
    return [r.type for r in rows]
