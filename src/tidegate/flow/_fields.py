"""Validation helpers: collect every issue with its document path and line, read typed fields."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from tidegate.errors import FlowError, FlowIssue
from tidegate.flow._yaml import LDict, LList

T = TypeVar("T")

_TYPE_NAMES = {
    "str": "a string",
    "bool": "true or false",
    "int": "an integer",
    "number": "a number",
    "list": "a list",
    "dict": "an object",
}


def kind_ok(value: Any, kind: str) -> bool:
    """True when ``value`` is of the JSON kind named ``kind`` (``bool`` is not a number here)."""
    if kind == "str":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "dict":
        return isinstance(value, dict)
    return True


def describe(value: Any) -> str:
    """A short name of the JSON type of ``value`` for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class Ctx:
    """Collects the issues of one definition."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.issues: list[FlowIssue] = []

    def add(self, path: str, message: str, line: int | None) -> None:
        self.issues.append(FlowIssue(path, message, line, self.source))


def join(path: str, key: str | int) -> str:
    """``join("steps[0]", "name")`` → ``steps[0].name``; ``join("steps", 2)`` → ``steps[2]``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Obj:
    """A view of one source object at ``path`` that reads typed fields and reports problems."""

    def __init__(self, ctx: Ctx, path: str, data: dict[str, Any], line: int | None = None) -> None:
        self.ctx = ctx
        self.path = path
        self.data = data
        self.line = getattr(data, "line", None) or line
        self.bad = False

    def line_of(self, key: str) -> int | None:
        lines: dict[str, int | None] = getattr(self.data, "key_lines", {})
        return lines.get(key) or self.line

    def error(self, key: str | None, message: str) -> None:
        """Report a problem with field ``key`` (or with the whole object when ``key`` is None)."""
        self.bad = True
        if key is None:
            self.ctx.add(self.path, message, self.line)
        else:
            self.ctx.add(join(self.path, key), message, self.line_of(key))

    def only(self, allowed: Iterable[str], what: str, hints: dict[str, str] | None = None) -> None:
        """Report every key not in ``allowed`` (``hints`` gives a better message for some keys)."""
        allowed = set(allowed)
        for key in self.data:
            if key not in allowed:
                hint = (hints or {}).get(key)
                self.error(key, hint or f'unknown field "{key}" in {what}')

    def get(self, key: str, kind: str, *, required: bool = False) -> Any:
        """The value of ``key`` when it has the JSON ``kind``; None (and an issue) otherwise."""
        if key not in self.data:
            if required:
                self.error(None, f'missing required field "{key}"')
            return None
        value = self.data[key]
        if not kind_ok(value, kind):
            self.error(key, f"must be {_TYPE_NAMES[kind]}, not {describe(value)}")
            return None
        return value

    def sub(self, key: str, *, required: bool = False) -> Obj | None:
        """The object at ``key`` as an :class:`Obj`."""
        value = self.get(key, "dict", required=required)
        return None if value is None else Obj(self.ctx, join(self.path, key), value, self.line_of(key))

    def items(self, key: str, *, required: bool = False, non_empty: bool = False) -> list[tuple[str, Any, int | None]]:
        """The items of the list at ``key`` as ``(path, value, line)``."""
        value = self.get(key, "list", required=required)
        if value is None:
            return []
        if non_empty and not value:
            self.error(key, "must not be empty")
        lines: list[int | None] = getattr(value, "item_lines", [])
        base = join(self.path, key)
        return [
            (join(base, i), item, (lines[i] if i < len(lines) else None) or self.line_of(key))
            for i, item in enumerate(value)
        ]

    def parsed(self, key: str, value: Any, parse: Callable[[Any], T]) -> T | None:
        """``parse(value)``, reporting a :class:`FlowError` from it as an issue on ``key``."""
        try:
            return parse(value)
        except FlowError as exc:
            self.error(key, exc.message)
            return None


def as_obj(ctx: Ctx, path: str, value: Any, line: int | None, what: str) -> Obj | None:
    """``value`` as an :class:`Obj` when it is an object; an issue otherwise."""
    if isinstance(value, dict):
        return Obj(ctx, path, value, line)
    ctx.add(path, f"{what} must be an object, not {describe(value)}", line)
    return None


def plain(value: Any) -> Any:
    """A copy of ``value`` without line information (plain dicts and lists) for constants in the model."""
    if isinstance(value, LDict | dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, LList | list):
        return [plain(v) for v in value]
    return value
