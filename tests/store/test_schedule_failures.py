"""Contract: a schedule whose execution cannot start, or whose expression cannot be evaluated, is skipped.

Every due schedule fires in one transaction; one that fails must neither undo the others' ticks nor be
retried in a loop: it is skipped for that tick (its next tick stays) with one log line.
"""

from __future__ import annotations

import logging

import pytest

from tests.store.helpers import make_flow
from tidegate.engine import start_event
from tidegate.store import ScheduleRecord, Store


def _schedule(name: str, cron: str = "@every 1m") -> ScheduleRecord:
    return ScheduleRecord(
        flow_name="flow1",
        name=name,
        id=f"id-{name}",
        cron=cron,
        payload="{}",
        enable=True,
        created_ms=1,
        modified_ms=1,
        next_fire_ms=1000,
    )


def _next(schedule: ScheduleRecord, now_ms: int) -> int:
    if schedule.cron == "garbled":
        raise ValueError("not an expression")
    return now_ms + 60_000


def _name(schedule: ScheduleRecord, due_ms: int) -> str:
    # A name the store cannot write (a lone surrogate): the insert itself fails inside the transaction.
    return "\ud800" if schedule.name == "bad" else f"{schedule.name}-{due_ms}"


def _lines(caplog: pytest.LogCaptureFixture, schedule: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if f"flow1/{schedule}:" in r.getMessage()]


def test_a_schedule_that_cannot_start_is_skipped_and_keeps_its_next_tick(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="tidegate.schedules")
    make_flow(store)
    for name in ("a", "bad", "z"):
        store.create_schedule(_schedule(name))
    store.create_schedule(_schedule("garbled", cron="garbled"))
    started = store.fire_due_schedules(5000, _next, _name, start_event())
    assert sorted(e.name for e in started) == ["a-1000", "z-1000"]
    assert [store.get_schedule("flow1", n).next_fire_ms for n in ("a", "bad", "z")] == [65_000] * 3
    assert store.get_schedule("flow1", "garbled").next_fire_ms is None  # it waits for an update
    (skipped,) = _lines(caplog, "bad")
    assert "could not start" in skipped and "UnicodeEncodeError" in skipped
    (stopped,) = _lines(caplog, "garbled")
    assert "cannot be evaluated" in stopped and "ValueError: not an expression" in stopped
    # Nothing is due again until the next tick: no retry loop, no more log lines.
    assert store.fire_due_schedules(6000, _next, _name, start_event()) == []
    assert len(_lines(caplog, "bad")) == len(_lines(caplog, "garbled")) == 1
    # At its next tick the failing schedule is tried again (and skipped again); the others fire.
    again = store.fire_due_schedules(65_000, _next, _name, start_event())
    assert sorted(e.name for e in again) == ["a-65000", "z-65000"]
    assert len(_lines(caplog, "bad")) == 2
