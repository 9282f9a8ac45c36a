"""Validate field values shared by several step types: mappings, gotos, wait durations and timestamps."""

from __future__ import annotations

import re
from datetime import datetime

from tidegate.flow._fields import Obj, as_obj, describe, plain
from tidegate.flow.mapping import parse_source
from tidegate.flow.model import Const, Mapping, Path
from tidegate.flow.paths import parse_path

__all__ = ["MAX_WAIT_SECONDS", "build_mappings", "check_goto", "duration_value", "timestamp_value"]

MAX_WAIT_SECONDS = 172800
"""A wait step waits at most two days."""

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def build_mappings(obj: Obj, key: str) -> tuple[Mapping, ...] | None:
    """The mapping list at ``obj[key]``; None when the field is absent (the default mapping applies)."""
    if key not in obj.data:
        return None
    out: list[Mapping] = []
    for path, value, line in obj.items(key):
        item = as_obj(obj.ctx, path, value, line, "a mapping")
        if item is None:
            obj.bad = True
            continue
        item.only(("target", "source"), "a mapping")
        target = item.get("target", "str", required=True)
        if target == "":
            item.error("target", "must not be empty")
        if "source" not in item.data:
            item.error(None, 'missing required field "source"')
        if target and "source" in item.data:
            source = item.parsed("source", item.data["source"], parse_source)
            if isinstance(source, Const):
                source = Const(plain(source.value))
            if source is not None:
                out.append(Mapping(target, source))
        obj.bad |= item.bad
    return tuple(out)


def check_goto(obj: Obj, key: str, siblings: frozenset[str], owner: str) -> str | None:
    """The goto target at ``obj[key]``, which must name a sibling of the step ``owner``."""
    goto: str | None = obj.get(key, "str")
    if goto is not None and goto not in siblings:
        obj.error(key, f'no step named "{goto}" beside "{owner}"')
    return goto


def duration_value(obj: Obj) -> int | float | Path | None:
    """A wait ``duration``: seconds (0 to two days, a number or a numeric string) or a path."""
    value = obj.data["duration"]
    if isinstance(value, str) and value.startswith("$"):
        return obj.parsed("duration", value, parse_path)
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            obj.error("duration", f'"{value}" is neither a number of seconds nor a path such as "$.seconds"')
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        obj.error("duration", f"must be a number of seconds or a path, not {describe(value)}")
        return None
    if not 0 <= value <= MAX_WAIT_SECONDS:
        obj.error("duration", f"must be between 0 and {MAX_WAIT_SECONDS} seconds (two days), not {value}")
        return None
    return value


def timestamp_value(obj: Obj) -> str | Path | None:
    """A wait ``timestamp``: an RFC 3339 time such as ``2019-05-02T15:04:05Z`` or a path."""
    value: str | None = obj.get("timestamp", "str")
    if value is None:
        return None
    if value.startswith("$"):
        return obj.parsed("timestamp", value, parse_path)
    if not _RFC3339.fullmatch(value) or not _valid_time(value):
        obj.error("timestamp", f'"{value}" is not an RFC 3339 time such as "2019-05-02T15:04:05Z"')
        return None
    return value


def _valid_time(value: str) -> bool:
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
