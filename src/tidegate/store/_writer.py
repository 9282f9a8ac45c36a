"""The transition writer: how a batch of :class:`TransitionWrite` reaches the tables, in named steps.

:func:`write_transitions` runs the steps in order inside the caller's write transaction; each step is one
job over the whole batch (rows of a table go in one executemany, far fewer round trips than per row). If
any step raises, the caller's transaction rolls back and nothing of the batch is written.

The functions here take the transaction and the time ("now") they write; they never read a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from tidegate.status import TERMINAL
from tidegate.store.base import ApplyNow
from tidegate.store.database import Tx
from tidegate.store.errors import HistoryGap, VersionConflict
from tidegate.store.notify import JOBS, WORK, execution_channel
from tidegate.store.records import (
    STATUS_PARAMS,
    ExecutionRecord,
    InboxItem,
    TaskOpen,
    TransitionWrite,
    Work,
    to_json,
)

#: The inbox id of an event applied in the transaction that produced it: it was never queued.
NOT_QUEUED = 0
#: How many effect outcomes in a row an applying transaction applies itself before leaving them to a driver.
_CHAINED_MAX = 4
_HISTORY_COLUMNS = ("execution_id", "event_id", "schedule_event_id", "type", "step_name", "time_ms", "detail")


@dataclass(slots=True)
class _Wakeups:
    """What the steps wrote that someone waits for, so the commit notifies them once."""

    work: bool = False
    jobs: bool = False


#: Called with a batch of transitions once the transaction that wrote it has committed (the store's
#: :attr:`~tidegate.store.Store.transition_observer`).
Observer = Callable[[Sequence[TransitionWrite]], None]


def write_transitions(
    tx: Tx, batch: Sequence[TransitionWrite], now: int, observe: Observer | None = None, *, chained: bool = False
) -> None:
    """Write ``batch`` in ``tx``: every step below, in this order; ``observe`` sees it once ``tx`` commits.

    ``chained``: the caller applies the outcomes the effects queue for their own execution in ``tx`` (and
    notifies the drivers of whatever it leaves queued), so queuing them wakes no driver here.

    Raises:
        VersionConflict: an execution is not at its write's ``expected_version``.
        HistoryGap: a write's event ids do not continue its history.
    """
    wake = _Wakeups()
    apply_states(tx, batch)
    append_history(tx, batch)
    consume_inbox(tx, batch)
    wake.work |= write_timers(tx, batch)
    write_tasks(tx, batch, now)
    wake.jobs |= write_jobs(tx, batch, now)
    for t in batch:  # per transition, in batch order: its deliveries, then completions, then effects
        wake.work |= deliver_events(tx, t, now)
        wake.work |= complete_tasks(tx, t, now)
        queued = run_effects(tx, t, now)
        wake.work |= queued and not chained
    ended = close_ended(tx, batch, now)
    notify(tx, ended, wake)
    if observe is not None:
        tx.on_commit.append(partial(observe, batch))


def apply_states(tx: Tx, batch: Sequence[TransitionWrite]) -> None:
    """Version check and state: each execution row moves to its new state, status and version, or the
    write raises (VersionConflict: someone else moved it; HistoryGap: its events do not continue)."""
    rows = tx.each("apply_transition", [_transition_params(t) for t in batch])
    for t, row in zip(batch, rows, strict=True):
        _check_applied(t, row)


def append_history(tx: Tx, batch: Sequence[TransitionWrite]) -> None:
    """History: every new event of the batch, in one bulk insert."""
    rows = [
        (t.execution_id, e.event_id, e.schedule_event_id, e.type, e.step_name, e.time_ms, to_json(e.detail))
        for t in batch
        for e in t.events
    ]
    tx.insert_rows("history", _HISTORY_COLUMNS, rows)


def consume_inbox(tx: Tx, batch: Sequence[TransitionWrite]) -> None:
    """Inbox: delete the queued events the transitions applied."""
    tx.many(
        "delete_inbox_item",
        ({"id": i, "execution_id": t.execution_id} for t in batch for i in t.consumed_inbox),
    )


def write_timers(tx: Tx, batch: Sequence[TransitionWrite]) -> bool:
    """Timers: cancel, then add (or move) them. Returns whether any was added."""
    tx.many(
        "delete_timer",
        ({"execution_id": t.execution_id, "timer_key": k} for t in batch for k in t.timers_cancel),
    )
    timers = [
        {
            "execution_id": t.execution_id,
            "timer_key": w.key,
            "fire_at_ms": w.fire_at_ms,
            "event": to_json(w.event),
            "task_key": w.task_key,
            "heartbeat_ms": w.heartbeat_ms,
        }
        for t in batch
        for w in t.timers_add
    ]
    tx.many("upsert_timer", timers)
    return bool(timers)


def write_tasks(tx: Tx, batch: Sequence[TransitionWrite], now: int) -> None:
    """Tasks: open the new ones, cancel the abandoned ones."""
    tx.many(
        "open_task",
        (
            {**STATUS_PARAMS, **_task_columns(k), "execution_id": t.execution_id, "now": now}
            for t in batch
            for k in t.tasks_open
        ),
    )
    tx.many(
        "cancel_task",
        (
            {**STATUS_PARAMS, "execution_id": t.execution_id, "task_key": k, "now": now}
            for t in batch
            for k in t.tasks_cancel
        ),
    )


def _task_columns(task: str | TaskOpen) -> dict[str, Any]:
    if isinstance(task, str):
        task = TaskOpen(key=task)
    return {
        "task_key": task.key,
        "step_name": task.step_name,
        "resource": task.resource,
        "pattern": task.pattern,
        "attempt": task.attempt,
        "heartbeat_ms": task.heartbeat_ms,
    }


def write_jobs(tx: Tx, batch: Sequence[TransitionWrite], now: int) -> bool:
    """Jobs: queue the work for executors. Returns whether any was queued."""
    jobs = [
        {
            "kind": j.kind,
            "payload": to_json(j.payload),
            "execution_id": t.execution_id,
            "task_key": j.task_key,
            "available_ms": j.available_ms,
            "now": now,
        }
        for t in batch
        for j in t.jobs
    ]
    tx.many("insert_job", jobs)
    return bool(jobs)


def deliver_events(tx: Tx, t: TransitionWrite, now: int) -> bool:
    """Deliveries: queue events in other executions' inboxes (if still active). Returns whether any was."""
    delivered = False
    for d in t.deliveries:
        delivered |= _queue_if_active(tx, d.execution_id, d.event, now)
    return delivered


def complete_tasks(tx: Tx, t: TransitionWrite, now: int) -> bool:
    """Task completions: close other executions' open tasks and queue their results (a child flow
    reporting to its parent). Returns whether any task was still open."""
    closed = False
    for c in t.task_completions:
        closed |= close_task(tx, c.execution_id, c.task_key, c.event, now)
    return closed


def run_effects(tx: Tx, t: TransitionWrite, now: int) -> bool:
    """Effects: run each in ``tx`` (a message sent in the same commit) and feed its outcome back to the
    execution, as a task result or an inbox event. Returns whether an outcome was queued."""
    queued = False
    for effect in t.effects:
        outcome = effect(tx)
        if outcome is None:
            continue
        if outcome.complete_task is not None:
            queued |= close_task(tx, t.execution_id, outcome.complete_task, outcome.event, now)
        else:
            queued |= _queue_if_active(tx, t.execution_id, outcome.event, now)
    return queued


def close_ended(tx: Tx, batch: Sequence[TransitionWrite], now: int) -> list[int]:
    """Ended executions keep no open task, timer or pending event (late results are refused).

    Returns:
        The ids of the executions the batch ended.
    """
    ended = [t.execution_id for t in batch if t.status in TERMINAL]
    tx.many("cancel_open_tasks_of", ({**STATUS_PARAMS, "execution_id": i, "now": now} for i in ended))
    tx.many("delete_timers_of", ({"execution_id": i} for i in ended))
    tx.many("delete_inbox_of", ({"execution_id": i} for i in ended))
    return ended


def notify(tx: Tx, ended: Sequence[int], wake: _Wakeups) -> None:
    """Notifications, sent once the transaction commits: each ended execution's waiters, the drivers
    (new timers or queued events), the executors (new jobs)."""
    for i in ended:
        tx.notify(execution_channel(i))
    if wake.work:
        tx.notify(WORK)
    if wake.jobs:
        tx.notify(JOBS)


# --- applying in the caller's transaction ---------------------------------------------------------------


def close_task(
    tx: Tx,
    execution_id: int,
    task_key: str,
    event: Mapping[str, Any],
    now: int,
    apply: ApplyNow | None = None,
    observe: Observer | None = None,
) -> bool:
    """Close an open task and queue ``event`` for its execution (applied at once with ``apply``).

    Returns:
        False (nothing written) when the task was not open.
    """
    closed = tx.one("close_task", {**STATUS_PARAMS, "execution_id": execution_id, "task_key": task_key, "now": now})
    if closed is None:
        return False
    if apply is None or not apply_now(tx, execution_id, apply, now, event, observe=observe):
        tx.run("insert_inbox", {"execution_id": execution_id, "event": to_json(event), "available_ms": now})
        tx.notify(WORK)
    return True


def apply_now(
    tx: Tx,
    execution_id: int,
    apply: ApplyNow,
    now: int,
    event: Mapping[str, Any],
    fresh: dict[str, Any] | None = None,
    observe: Observer | None = None,
) -> bool:
    """Apply an execution's due inbox items, then ``event``, and write the transition in ``tx``.

    ``event`` has not been queued: it is applied here or, when this returns False (nothing written),
    the caller queues it. The execution row is locked (PostgreSQL ``FOR UPDATE``; SQLite's write
    transaction holds the whole database) and skipped while a driver's lease on it runs, so only one
    applier ever works on it. ``fresh`` is the row of an execution inserted in ``tx`` (no lease, no inbox).
    """
    row, queued = fresh, []
    if row is None:
        row = tx.one("lock_execution_to_apply", {**STATUS_PARAMS, "id": execution_id, "now": now})
        if row is None:
            return False
        queued = tx.all("claimed_inbox", {"ids": tx.array([execution_id]), "now": now})
    record, unreadable = ExecutionRecord.from_row_readable(row)
    try:
        items = [InboxItem.from_row(i) for i in queued]
    except (ValueError, TypeError):
        unreadable = "a queued event is not JSON"
    if unreadable:
        return False  # the driver's bounded retries deal with it
    items.append(InboxItem(id=NOT_QUEUED, execution_id=execution_id, event=dict(event)))
    write = apply(Work(execution=record, inbox=tuple(items)))
    if write is None:
        return False
    write = replace(write, consumed_inbox=[i for i in write.consumed_inbox if i != NOT_QUEUED])
    write_transitions(tx, [write], now, observe, chained=True)
    if not _apply_outcomes(tx, execution_id, apply, now, write, observe):
        tx.notify(WORK)  # an outcome is left queued: a driver applies it
    return True


def _apply_outcomes(
    tx: Tx, execution_id: int, apply: ApplyNow, now: int, write: TransitionWrite, observe: Observer | None
) -> bool:
    """Apply the outcomes ``write``'s effects queued for its own execution (a message sent: TaskSubmitted)
    here, on the row ``tx`` holds, rather than in a driver's claim and commit afterwards.

    Returns:
        False when something is left queued for the execution.
    """
    for _ in range(_CHAINED_MAX):
        if not write.effects or write.status in TERMINAL:
            return True
        row = tx.one("lock_execution_to_apply", {**STATUS_PARAMS, "id": execution_id, "now": now})
        if row is None:
            return False
        queued = tx.all("claimed_inbox", {"ids": tx.array([execution_id]), "now": now})
        if not queued:
            return True
        record, unreadable = ExecutionRecord.from_row_readable(row)
        try:
            items = [InboxItem.from_row(i) for i in queued]
        except (ValueError, TypeError):
            return False  # the driver's bounded retries deal with it
        chained = None if unreadable else apply(Work(execution=record, inbox=tuple(items)))
        if chained is None:
            return False
        write = chained
        write_transitions(tx, [write], now, observe, chained=True)
    return not (write.effects and write.status not in TERMINAL)


def _queue_if_active(tx: Tx, execution_id: int, event: Mapping[str, Any], now: int) -> bool:
    params = {**STATUS_PARAMS, "execution_id": execution_id, "event": to_json(event), "available_ms": now}
    return tx.one("insert_inbox_if_active", params) is not None


def _transition_params(t: TransitionWrite) -> dict[str, Any]:
    return {
        "id": t.execution_id,
        "expected_version": t.expected_version,
        "state": None if t.state is None else to_json(t.state),
        "status": t.status,
        "output": t.output,
        "error": t.error,
        "cause": t.cause,
        "stopped_ms": t.stopped_ms,
        "n_events": len(t.events),
    }


def _check_applied(t: TransitionWrite, row: dict[str, Any] | None) -> None:
    if row is None:
        raise VersionConflict(t.execution_id, t.expected_version)
    last = int(row["event_count"])
    expected = list(range(last - len(t.events) + 1, last + 1))
    if [e.event_id for e in t.events] != expected:
        raise HistoryGap(
            f"execution {t.execution_id}: event ids {[e.event_id for e in t.events]} "
            f"do not continue the history (expected {expected})"
        )
