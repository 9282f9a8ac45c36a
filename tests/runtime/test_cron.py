"""Schedule expressions: parsing, validation and next firing times (docs/api.md, Schedules)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidegate.engine import parse_rfc3339_ms, rfc3339_ms
from tidegate.runtime.cron import InvalidCronExpression, compute_next, next_fire_ms, parse_cron
from tidegate.store import ScheduleRecord

T0 = parse_rfc3339_ms("2026-03-07T10:00:00Z")  # a Saturday


def nxt(expr: str, after: str = "2026-03-07T10:00:00Z") -> str:
    return rfc3339_ms(next_fire_ms(expr, parse_rfc3339_ms(after)))


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("0 0 4 * * *", "2026-03-08T04:00:00.000Z"),
        ("0 30 4 ? * MON-FRI", "2026-03-09T04:30:00.000Z"),
        ("0 0/5 4-6 ? * MON-FRI", "2026-03-09T04:00:00.000Z"),
        ("0 0 10 1 * ?", "2026-04-01T10:00:00.000Z"),
        ("30 9 * * * *", "2026-03-07T10:09:30.000Z"),
        ("* * * * * *", "2026-03-07T10:00:01.000Z"),
        ("0 0 0 29 2 *", "2028-02-29T00:00:00.000Z"),
        ("0 0 12 * JAN,dec SUN", "2026-12-06T12:00:00.000Z"),
        ("0 0 12 * * 7", "2026-03-08T12:00:00.000Z"),  # 7 is Sunday too
        ("0 0 12 13 * FRI", "2026-03-13T12:00:00.000Z"),  # both day fields: either matches
        ("0 0 12 15 * MON", "2026-03-09T12:00:00.000Z"),
        ("0 10-20/5 10 * * *", "2026-03-07T10:10:00.000Z"),
        ("CRON_TZ=Asia/Shanghai 0 0 4 * * *", "2026-03-07T20:00:00.000Z"),
        ("@every 5m", "2026-03-07T10:05:00.000Z"),
        ("@every 1m", "2026-03-07T10:01:00.000Z"),
    ],
)
def test_next_fire(expr: str, expected: str) -> None:
    assert nxt(expr) == expected


def test_strictly_after() -> None:
    assert nxt("0 0 10 * * *", "2026-03-07T10:00:00Z") == "2026-03-08T10:00:00.000Z"
    assert nxt("0 0 10 * * *", "2026-03-07T09:59:59.999Z") == "2026-03-07T10:00:00.000Z"


def test_dst_gap_and_overlap() -> None:
    # 2026-03-08 02:30 does not exist in New York: that day is skipped.
    assert nxt("CRON_TZ=America/New_York 0 30 2 * * *", "2026-03-07T10:00:00Z") == "2026-03-09T06:30:00.000Z"
    # 2026-11-01 01:30 happens twice there: it fires once, at the first (EDT, UTC-4).
    first = nxt("CRON_TZ=America/New_York 0 30 1 * * *", "2026-11-01T00:00:00Z")
    assert first == "2026-11-01T05:30:00.000Z"
    assert nxt("CRON_TZ=America/New_York 0 30 1 * * *", "2026-11-01T05:30:00Z") == "2026-11-02T06:30:00.000Z"


@pytest.mark.parametrize(
    "expr",
    [
        "",
        "@every 30s",
        "@every 0m",
        "@hourly",
        "0 0 4 * *",
        "0 0 4 * * * *",
        "60 0 4 * * *",
        "0 60 4 * * *",
        "0 0 24 * * *",
        "0 0 0 32 * *",
        "0 0 0 1 13 *",
        "0 0 0 * * 8",
        "? 0 0 * * *",
        "0 0 0 5-1 * *",
        "0 0 0 * * FOO",
        "0 */0 * * * *",
        "0 0 0 31 2 *",  # never fires
        "CRON_TZ=Mars/Olympus 0 0 4 * * *",
        "x" * 300,
    ],
)
def test_invalid(expr: str) -> None:
    with pytest.raises(InvalidCronExpression) as info:
        parse_cron(expr)
    assert info.value.code == "InvalidArgument"


def test_compute_next_for_the_store() -> None:
    sched = ScheduleRecord(flow_name="f", name="s", id="i", cron="@every 2m", created_ms=0, modified_ms=0)
    assert compute_next(sched, T0) == T0 + 120_000
    broken = ScheduleRecord(flow_name="f", name="s", id="i", cron="nonsense", created_ms=0, modified_ms=0)
    assert compute_next(broken, T0) is None


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=59),
    st.integers(min_value=0, max_value=23),
    st.sampled_from(["*", "MON-FRI", "SAT,SUN", "?"]),
    st.integers(min_value=parse_rfc3339_ms("2024-01-01T00:00:00Z"), max_value=parse_rfc3339_ms("2030-01-01T00:00:00Z")),
)
def test_next_is_after_and_matches(minute: int, hour: int, dow: str, after: int) -> None:
    expr = f"0 {minute} {hour} * * {dow}"
    fire = next_fire_ms(expr, after)
    text = rfc3339_ms(fire)
    assert fire > after and fire - after <= 7 * 86_400_000
    assert text[11:19] == f"{hour:02d}:{minute:02d}:00"
    allowed = {"*": set(range(7)), "?": set(range(7)), "MON-FRI": {0, 1, 2, 3, 4}, "SAT,SUN": {5, 6}}[dow]
    assert datetime.fromtimestamp(fire / 1000, UTC).weekday() in allowed
    # the earliest: the same wall time on an earlier day after `after` is not an allowed weekday
    for k in range(1, 7):
        earlier = fire - k * 86_400_000
        if earlier > after:
            assert datetime.fromtimestamp(earlier / 1000, UTC).weekday() not in allowed
