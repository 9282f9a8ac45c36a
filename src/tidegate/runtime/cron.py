"""Schedule expressions (docs/api.md, Schedules): ``@every Nm`` and 6-field cron with ``CRON_TZ=``.

Forms accepted:

* ``@every <N>m`` — every N minutes (N ≥ 1, minutes only as the service documents); the next firing is
  N minutes after the previous one (after the creation time for the first).
* ``[CRON_TZ=Area/City ]S M H DOM MON DOW`` — seconds, minutes, hours, day of month, month, day of week.
  Every field takes ``*``, numbers, ranges ``a-b``, steps ``*/n``, ``a/n``, ``a-b/n`` and lists ``x,y``;
  ``?`` (= ``*``) is allowed in day-of-month and day-of-week only. Months take ``JAN``-``DEC`` and days of
  week ``SUN``-``SAT`` (0 or 7 is Sunday). As in Vixie cron and robfig/cron (the Go library the real
  service's syntax matches), when both day fields are restricted a day matches if *either* matches.
  Times are UTC unless ``CRON_TZ=`` names an IANA zone; a local time skipped by a DST jump never fires
  and a repeated one fires once (its first occurrence).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tidegate.errors import FlowError
from tidegate.store.records import ScheduleRecord

__all__ = ["CronSpec", "InvalidCronExpression", "compute_next", "next_fire_ms", "parse_cron"]

MAX_EXPRESSION_LEN = 256
# A 29 February schedule can wait 8 years (2096 → 2104); look no further than that.
_SEARCH_DAYS = 366 * 9

_MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
_EVERY = re.compile(r"@every\s+(\d{1,6})m")
_TZ_PREFIX = re.compile(r"CRON_TZ=(\S+)\s+(.*)", re.S)


class InvalidCronExpression(FlowError):
    """The cron expression is not valid."""

    # The FnF API answers a bad CronExpression with InvalidArgument.
    code = "InvalidArgument"


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    lo: int
    hi: int
    names: dict[str, int] | None = None
    question: bool = False


_FIELDS = (
    _Field("seconds", 0, 59),
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31, question=True),
    _Field("month", 1, 12, names=_MONTHS),
    _Field("day-of-week", 0, 7, names=_DAYS, question=True),
)


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A parsed expression: either ``every_ms`` or the six value sets (with the zone)."""

    text: str
    every_ms: int | None = None
    seconds: tuple[int, ...] = ()
    minutes: tuple[int, ...] = ()
    hours: tuple[int, ...] = ()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    dom_star: bool = True
    dow_star: bool = True
    zone: str = "UTC"


def _bad(expr: str, why: str) -> InvalidCronExpression:
    return InvalidCronExpression(f"The cron expression {expr[:80]!r} is not valid: {why}.")


def _value(text: str, f: _Field, expr: str) -> int:
    if f.names is not None and text.upper() in f.names:
        return f.names[text.upper()]
    if not text.isdigit() or len(text) > 2:
        raise _bad(expr, f"{text!r} is not a valid {f.name} value")
    v = int(text)
    if not f.lo <= v <= f.hi:
        raise _bad(expr, f"{f.name} value {v} is outside {f.lo}-{f.hi}")
    return v


def _parse_field(text: str, f: _Field, expr: str) -> tuple[set[int], bool]:
    """Return the field's values and whether it is unrestricted (``*`` or ``?``)."""
    if text == "?":
        if not f.question:
            raise _bad(expr, f"'?' is not allowed in {f.name}")
        return set(range(f.lo, f.hi + 1)), True
    values: set[int] = set()
    for part in text.split(","):
        rng, slash, step_text = part.partition("/")
        step = 1
        if slash:
            if not step_text.isdigit() or not 0 < int(step_text) <= f.hi + 1:
                raise _bad(expr, f"{part!r} has an invalid step")
            step = int(step_text)
        if rng == "*":
            lo, hi = f.lo, f.hi
        elif "-" in rng:
            a, _, b = rng.partition("-")
            lo, hi = _value(a, f, expr), _value(b, f, expr)
            if lo > hi:
                raise _bad(expr, f"{part!r} is a reversed range")
        else:
            lo = _value(rng, f, expr)
            hi = f.hi if slash else lo  # "a/n" means from a to the end, every n
        values.update(range(lo, hi + 1, step))
    return values, text == "*"


@lru_cache(maxsize=1024)
def parse_cron(expr: str) -> CronSpec:
    """Parse and validate an expression.

    Raises:
        InvalidCronExpression: the syntax, a value, the zone or the interval is invalid, or the expression
            can never fire.
    """
    if not isinstance(expr, str) or not expr.strip() or len(expr) > MAX_EXPRESSION_LEN:
        raise _bad(str(expr), "it must be 1-256 characters")
    text = expr.strip()
    zone = "UTC"
    m = _TZ_PREFIX.fullmatch(text)
    if m is not None:
        zone, text = m.group(1), m.group(2).strip()
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise _bad(expr, f"unknown time zone {zone!r}") from None
    if text.startswith("@"):
        every = _EVERY.fullmatch(text)
        if every is None:
            raise _bad(expr, "the only descriptor is '@every <N>m' (minutes)")
        minutes = int(every.group(1))
        if minutes < 1:
            raise _bad(expr, "the minimum interval is 1 minute")
        return CronSpec(text=expr, every_ms=minutes * 60_000, zone=zone)
    parts = text.split()
    if len(parts) != 6:
        raise _bad(expr, f"expected 6 fields (seconds minutes hours day month weekday), got {len(parts)}")
    parsed = [_parse_field(p, f, expr) for p, f in zip(parts, _FIELDS, strict=True)]
    weekdays = {d % 7 for d in parsed[5][0]}
    spec = CronSpec(
        text=expr,
        seconds=tuple(sorted(parsed[0][0])),
        minutes=tuple(sorted(parsed[1][0])),
        hours=tuple(sorted(parsed[2][0])),
        days=frozenset(parsed[3][0]),
        months=frozenset(parsed[4][0]),
        weekdays=frozenset(weekdays),
        dom_star=parsed[3][1],
        dow_star=parsed[5][1],
        zone=zone,
    )
    if _next_cron(spec, 0) is None:
        raise _bad(expr, "it never fires")
    return spec


def _day_matches(spec: CronSpec, d: date) -> bool:
    if d.month not in spec.months:
        return False
    dom = d.day in spec.days
    dow = (d.weekday() + 1) % 7 in spec.weekdays  # Python: Monday=0; cron: Sunday=0
    if spec.dom_star or spec.dow_star:
        return dom and dow
    return dom or dow


def _to_utc_ms(naive: datetime, tz: tzinfo) -> int | None:
    """Epoch ms of a local wall time (first occurrence), or None when the time does not exist there."""
    aware = naive.replace(tzinfo=tz, fold=0)
    utc = aware.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != naive:
        return None  # skipped by a DST jump
    return int(utc.timestamp()) * 1000


def _next_cron(spec: CronSpec, after_ms: int) -> int | None:
    tz: tzinfo = UTC if spec.zone == "UTC" else ZoneInfo(spec.zone)
    after_local = datetime.fromtimestamp(after_ms / 1000, tz).replace(tzinfo=None, microsecond=0)
    day = after_local.date()
    for _ in range(_SEARCH_DAYS):
        if _day_matches(spec, day):
            base = datetime(day.year, day.month, day.day)
            for h in spec.hours:
                if base + timedelta(hours=h, minutes=59, seconds=59) <= after_local:
                    continue
                for mi in spec.minutes:
                    if base + timedelta(hours=h, minutes=mi, seconds=59) <= after_local:
                        continue
                    for s in spec.seconds:
                        naive = base + timedelta(hours=h, minutes=mi, seconds=s)
                        # Local wall time maps monotonically to UTC (first occurrence), so anything not
                        # after the start's wall time cannot be after the start.
                        if naive <= after_local:
                            continue
                        ms = _to_utc_ms(naive, tz)
                        if ms is not None and ms > after_ms:
                            return ms
        day += timedelta(days=1)
    return None


def next_fire_ms(expr: str, after_ms: int) -> int:
    """Return the first firing time strictly after ``after_ms`` (epoch milliseconds).

    Raises:
        InvalidCronExpression: the expression is invalid (see :func:`parse_cron`) or has no firing
            within the search horizon after ``after_ms``.
    """
    spec = parse_cron(expr)
    if spec.every_ms is not None:
        # Whole seconds, like robfig/cron's @every.
        return after_ms - after_ms % 1000 + spec.every_ms
    result = _next_cron(spec, after_ms)
    if result is None:
        raise _bad(expr, "it does not fire again")
    return result


def compute_next(schedule: ScheduleRecord, now_ms: int) -> int | None:
    """The store's ``ComputeNext``: the schedule's next due time after ``now_ms``, None if it never is."""
    try:
        return next_fire_ms(schedule.cron, now_ms)
    except InvalidCronExpression:
        return None


def scheduled_execution_name(schedule_name: str, due_ms: int) -> str:
    """The execution name of one firing: deterministic, so that starting it twice starts it once."""
    return f"{schedule_name[:100]}-{due_ms}"
